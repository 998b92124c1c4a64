"""Pure formatting helpers, registered as Jinja2 filters for the prompts and the note.

Untrusted text (log lines, label values, summaries built from them) only ever reaches
markdown through `code` (an inline code span) or `fence` (a fenced block): both pick a
backtick run longer than any run inside the text, so the text cannot close its span and
no renderer interprets HTML or markup inside it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from app.model import utc
from app.redact import redact

# Bidi overrides and other invisible controls can make a line read differently than it is.
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean(text: Any, limit: int = 500) -> str:
    """Redacted, control-free, one-line-ish text cut at `limit` characters."""
    value = redact("" if text is None else str(text))
    value = _INVISIBLE.sub("", value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def code(text: Any, limit: int = 300) -> str:
    """An inline code span that holds `text` literally (CommonMark rules, also fine in Jira markdown)."""
    value = clean(text, limit).replace("\n", " ").replace("\r", " ")
    if not value:
        return "``"
    ticks = "`" * (longest_backtick_run(value) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(text: Any, lang: str = "text", limit: int = 2000) -> str:
    """A fenced code block that `text` cannot break out of."""
    value = clean(text, limit)
    ticks = "`" * max(3, longest_backtick_run(value) + 1)
    return f"{ticks}{lang}\n{value}\n{ticks}"


def md_text(text: Any, limit: int = 500) -> str:
    """Plain prose from a trusted-but-generated source (our templates, the checked LLM draft):
    one line, markdown-significant characters that could start HTML or links escaped."""
    value = clean(text, limit).replace("\r", " ").replace("\n", " ")
    return re.sub(r"([<>\[\]|])", r"\\\1", value)


def utc_time(ts: datetime | None, seconds: bool = True) -> str:
    if ts is None:
        return "unknown"
    return utc(ts).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def local_time(ts: datetime | None, tz: tzinfo) -> str:
    if ts is None:
        return "unknown"
    local = utc(ts).astimezone(tz)
    shown = f"{local:%H:%M:%S}" if local.date() == utc(ts).date() else f"{local:%Y-%m-%d %H:%M:%S}"
    return f"{shown} {zone_name(local)}"


def zone_name(local: datetime) -> str:
    name = local.tzname() or ""
    return name if name and not name.startswith(("+", "-")) else f"UTC{local:%z}"


def is_utc(tz: tzinfo) -> bool:
    """True when local time is UTC all year (then the note does not repeat it)."""
    probes = (datetime(2026, 1, 15), datetime(2026, 7, 15))
    return all(tz.utcoffset(p) in (None, timedelta(0)) for p in probes) and (
        tz.tzname(probes[0]) or "UTC"
    ) in ("UTC", "GMT", "Z", "Etc/UTC", "UTC+00:00")


def both_times(ts: datetime | None, tz: tzinfo) -> str:
    """`2026-11-01 12:07:30 UTC (13:07:30 CET)`: UTC first, the local time alongside."""
    if ts is None:
        return "unknown"
    if is_utc(tz):
        return utc_time(ts)
    local = utc(ts).astimezone(tz)
    same_day = local.date() == utc(ts).date()
    shown = f"{local:%H:%M:%S}" if same_day else f"{local:%Y-%m-%d %H:%M:%S}"
    return f"{utc_time(ts)} ({shown} {zone_name(local)})"


def num(value: float | int | None) -> str:
    """Six significant digits, no exponent for everyday magnitudes, no trailing `.0`."""
    if value is None:
        return "n/a"
    number = float(value)
    if number != number:
        return "n/a"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    text = f"{number:.6g}"
    if "e" in text and abs(number) < 1e15:
        text = f"{number:.6f}".rstrip("0").rstrip(".")
    return text


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{round(float(value) * 100):d}%"


def level(confidence: float) -> str:
    return "high" if confidence >= 0.7 else "medium" if confidence >= 0.4 else "low"


def humanize(name: Any) -> str:
    return str(name).replace("_", " ").strip()


def to_json(value: Any) -> str:
    """Compact JSON with every non-ASCII character escaped (no look-alike or bidi tricks)."""
    return json.dumps(value, ensure_ascii=True, sort_keys=False, separators=(", ", ": "))


FILTERS = {
    "clean": clean,
    "code": code,
    "fence": fence,
    "md": md_text,
    "utc": utc_time,
    "num": num,
    "pct": pct,
    "level": level,
    "humanize": humanize,
    "tojson_ascii": to_json,
}


def first_at(ids: list[str], evidence: dict) -> datetime | None:
    """The earliest time among the cited evidence (a claim's time is its evidence's time)."""
    times = [evidence[i].at for i in ids if i in evidence]
    return min(times) if times else None


FILTERS["first_at"] = first_at
