import math

import pytest

from app.rules.gotemplate import TemplateError, expand, humanize, humanize_percentage


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (3, "3"),
        (1234, "1.234k"),
        (2_500_000, "2.5M"),
        (0.2, "200m"),
        (0.0005, "500u"),
        (-1500, "-1.5k"),
        (600, "600"),
        (math.inf, "+Inf"),
    ],
)
def test_humanize_matches_prometheus(value, text):
    assert humanize(value) == text


def test_humanize_percentage():
    assert humanize_percentage(0.2) == "20%"
    assert humanize_percentage(0.123456) == "12.35%"


def test_expand_labels_and_value():
    out = expand(
        "b {{ $labels.broker }} v {{ $value | humanize }} p {{ $value | humanizePercentage }} "
        "raw {{ $value }}",
        {"broker": "2"},
        0.5,
    )
    assert out == "b 2 v 500m p 50% raw 0.5"


def test_unsupported_action_is_rejected():
    with pytest.raises(TemplateError):
        expand("{{ $value | humanizeDuration }}", {}, 1)
    with pytest.raises(TemplateError):
        expand("{{ range $x }}", {}, 1)
