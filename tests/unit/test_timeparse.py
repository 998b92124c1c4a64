from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.timeparse import TimeParseError, parse_time, parse_window

NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T06:00:00Z", datetime(2026, 11, 22, 6, tzinfo=UTC)),
        ("2026-11-22T07:00:00+01:00", datetime(2026, 11, 22, 6, tzinfo=UTC)),
        ("2026-11-22 06:00:00", datetime(2026, 11, 22, 6, tzinfo=UTC)),
        ("1763794800", datetime(2025, 11, 22, 7, tzinfo=UTC)),
        ("1763794800000", datetime(2025, 11, 22, 7, tzinfo=UTC)),
        ("now", NOW),
        ("now-6h", datetime(2026, 11, 22, 1, tzinfo=UTC)),
        ("now-15m", datetime(2026, 11, 22, 6, 45, tzinfo=UTC)),
        ("now-7d", datetime(2026, 11, 15, 7, tzinfo=UTC)),
    ],
)
def test_accepted_formats(text, expected):
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "now+1h", "2026-13-01", "nan", "99999999999999999999", "now-6x"]
)
def test_rejected_formats_say_what_is_accepted(text):
    with pytest.raises(TimeParseError) as err:
        parse_time(text, now=NOW)
    assert "ISO-8601" in str(err.value) or "1970..2100" in str(err.value) or "not a number" in str(err.value)


def test_from_after_to_is_an_error():
    with pytest.raises(TimeParseError, match="swap"):
        parse_window("now-1h", "now-2h", now=NOW)


@given(st.text(max_size=40))
def test_parser_never_raises_anything_but_its_own_error(text):
    try:
        result = parse_time(text, now=NOW)
    except TimeParseError:
        return
    assert result.tzinfo is not None
