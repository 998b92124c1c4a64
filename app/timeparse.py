"""Parse the time formats users bring: ISO-8601, epoch s/ms (Grafana), `now-6h`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.model import Window

_RELATIVE = re.compile(r"^now(?:\s*-\s*(\d+)\s*(ms|s|m|h|d|w))?$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Epoch values above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 1e11
_EPOCH_RANGE = (0, 4102444800)  # 1970 .. 2100, in seconds


class TimeParseError(ValueError):
    """A time string could not be understood; the message says what is accepted."""


def parse_time(text: str | int | float, now: datetime | None = None) -> datetime:
    """Return an aware UTC datetime for `text`.

    Accepts ISO-8601 (`2026-11-22T07:00:00Z`, naive taken as UTC), epoch seconds or
    milliseconds (`1763794800000`, as Grafana sends `${__from}`), and `now`, `now-15m`,
    `now-6h`, `now-7d`.
    """
    now = now or datetime.now(UTC)
    if isinstance(text, int | float) and not isinstance(text, bool):
        return _from_epoch(float(text), str(text))
    raw = str(text).strip()
    if not raw:
        raise TimeParseError("empty time; use ISO-8601, epoch seconds/ms, or now-6h")
    match = _RELATIVE.match(raw)
    if match:
        amount, unit = match.groups()
        if amount is None:
            return now.astimezone(UTC)
        try:
            return now.astimezone(UTC) - timedelta(seconds=int(amount) * _UNITS[unit])
        except OverflowError:
            raise TimeParseError(
                f"relative time {raw[:40]!r} reaches before year 1; use a smaller offset"
            ) from None
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return _from_epoch(float(raw), raw)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise TimeParseError(
            f"cannot read time {raw[:80]!r}; use ISO-8601 (2026-11-22T07:00:00Z), "
            "epoch seconds or milliseconds, or now-6h / now-15m"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(value: float, raw: str) -> datetime:
    if value != value or value in (float("inf"), float("-inf")):
        raise TimeParseError(f"time {raw!r} is not a number")
    seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else value
    if not _EPOCH_RANGE[0] <= seconds <= _EPOCH_RANGE[1]:
        raise TimeParseError(f"epoch time {raw!r} is outside 1970..2100")
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_window(
    start: str | int | float | None,
    end: str | int | float | None,
    default: Window | None = None,
    now: datetime | None = None,
) -> Window:
    """Build a Window from user input; missing ends fall back to `default` or now-1h..now."""
    now = now or datetime.now(UTC)
    begin = parse_time(start, now) if start not in (None, "") else None
    finish = parse_time(end, now) if end not in (None, "") else None
    if begin is None:
        begin = default.start if default else (finish or now) - timedelta(hours=1)
    if finish is None:
        finish = default.end if default else now
    if finish <= begin:
        raise TimeParseError(
            f"'from' ({begin.isoformat()}) is not before 'to' ({finish.isoformat()}); swap them"
        )
    return Window(begin, finish)
