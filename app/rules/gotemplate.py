"""Expand the small subset of Prometheus alert templates the generated rules use.

Only so a generated promtool test can state the exact annotation Prometheus will render:
`{{ $labels.name }}`, `{{ $value }}`, `{{ $value | humanize }}`, `{{ $value | humanizePercentage }}`.
Anything else is rejected, so a template the expander does not understand cannot slip into a
test with a wrong expectation.
"""

from __future__ import annotations

import math
import re

_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


class TemplateError(ValueError):
    """A template action outside the supported subset."""


def go_g4(value: float) -> str:
    """Go's fmt %.4g (same as C's for finite values; Go spells the others +Inf, -Inf, NaN)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def humanize(value: float) -> str:
    """Prometheus `humanize`: SI prefixes, 4 significant digits."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return go_g4(value)
    if abs(value) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix = p
            value /= 1000
        return go_g4(value) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix = p
        value *= 1000
    return go_g4(value) + prefix


def humanize_percentage(value: float) -> str:
    return go_g4(value * 100) + "%"


def expand(template: str, labels: dict[str, str], value: float) -> str:
    def action(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("$labels."):
            return labels.get(body.removeprefix("$labels."), "")
        parts = [p.strip() for p in body.split("|")]
        if parts[0] != "$value":
            raise TemplateError(f"unsupported template action {{{{ {body} }}}}")
        if len(parts) == 1:
            return repr(float(value)) if value != int(value) else str(int(value))
        if parts[1:] == ["humanize"]:
            return humanize(value)
        if parts[1:] == ["humanizePercentage"]:
            return humanize_percentage(value)
        raise TemplateError(f"unsupported template function in {{{{ {body} }}}}")

    return _ACTION.sub(action, template)
