"""Skeleton placeholder: replaced by the log taxonomy (issue 6)."""

from __future__ import annotations

import re

from app.model import LogEvent

_LINE = re.compile(r"^\[(?P<ts>[^\]]+)\] (?P<level>[A-Z]+) (?P<msg>.*) \((?P<logger>[^()]+)\)$")


def classify(line: str) -> LogEvent:
    match = _LINE.match(line)
    if not match:
        return LogEvent(event_class="unknown", line=line)
    msg = match["msg"]
    cls = "isr_shrink" if "Shrinking ISR" in msg else "other_info"
    return LogEvent(event_class=cls, severity=match["level"], logger=match["logger"], line=line)


def classify_many(lines) -> list[LogEvent]:
    return [classify(line) for line in lines]
