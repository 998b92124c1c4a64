"""Multi-line records: per-line labels with context, and one event per joined record.

A record is a line in a log layout (a log4j header or a GC line) and the layout-less lines after
it: exception lines, `\\tat ...` frames, `\\tkey = value` config entries, log-cleaner statistics,
and the ` (logger)` trailer of a multi-line message. Lines before the first header form a record
of their own. Records are cut at `MAX_RECORD_LINES` so one runaway stream cannot glue everything.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator

from app.model import LogEvent

from . import _envelope as env
from ._classify import MAX_EVENT_LINE, classify_line, make_event
from ._rules import UNKNOWN, Taxonomy

MAX_RECORD_LINES = 1000

# Classes whose continuation lines keep the parent's class (classes note, "Multi-line records").
_PARENT_KEEPS = frozenset({"config_dump", "log_cleaner"})
# Continuation classes that say nothing of their own about the incident.
_NEUTRAL = frozenset({"stack_trace", UNKNOWN, "config_dump", "log_cleaner", "other_info"})
_ENTITY_FIELDS = ("broker", "peer", "topic", "partition", "group", "isr_from", "isr_to", "member", "log_dir")


def label_lines(tax: Taxonomy, lines: Iterable[str | bytes]) -> Iterator[tuple[LogEvent, str]]:
    """(event, layout kind) per physical line, in order, using the record each line belongs to.

    Exception lines take the level of the record they follow (frames, config-dump and
    statistics lines keep None); continuation lines of config dumps and log-cleaner summaries
    keep the parent's class.
    """
    header_level: str | None = None
    parent: str | None = None
    for raw in lines:
        event, kind = classify_line(tax, raw)
        if kind == env.LOG4J or kind == env.GC:
            header_level = event.severity
            parent = event.event_class if event.event_class in _PARENT_KEEPS else None
            yield event, kind
            continue
        if parent is not None:
            if event.event_class != parent and event.event_class in _NEUTRAL:
                event.__dict__["event_class"] = parent  # fresh event, not shared yet
        elif header_level is not None and kind == env.PLAIN and _is_exception_line(event.line):
            event.__dict__["severity"] = header_level
        yield event, kind


def classify_lines(tax: Taxonomy, lines: Iterable[str | bytes]) -> Iterator[LogEvent]:
    """One event per physical line (see `label_lines`)."""
    for event, _kind in label_lines(tax, lines):
        yield event


def _is_exception_line(line: str) -> bool:
    s = line.lstrip()
    if not s or s.startswith("at ") or s.startswith("... "):
        return False
    return not line.startswith("\t") or s.startswith("Caused by")


def classify_records(
    tax: Taxonomy, lines: Iterable[str | bytes], starts: Container[int] | None = None
) -> Iterator[tuple[int, int, LogEvent]]:
    """(index of the record's first line, number of lines, event) per record, streaming.

    `starts`: line indices that begin a record whatever they look like (entries a shipper
    already joined into whole records).
    """
    buf: list[LogEvent] = []
    start = 0
    for i, (event, kind) in enumerate(label_lines(tax, lines)):
        if buf and (
            kind == env.LOG4J
            or kind == env.GC
            or len(buf) >= MAX_RECORD_LINES
            or (starts is not None and i in starts)
        ):
            yield start, len(buf), merge_record(tax, buf)
            buf = []
        if not buf:
            start = i
        buf.append(event)
    if buf:
        yield start, len(buf), merge_record(tax, buf)


def merge_record(tax: Taxonomy, events: list[LogEvent]) -> LogEvent:
    """One event for a record's per-line events: the header's class unless a cause overrides it."""
    head = events[0]
    if len(events) == 1:
        return head
    cls = head.event_class
    anywhere = tax.overrides.get("*", frozenset())
    allowed = tax.overrides.get(cls, frozenset())
    cause = next((e for e in events[1:] if e.event_class in anywhere and e.event_class != cls), None)
    if cause is None and allowed:
        for e in events[1:]:
            c = e.event_class
            if c not in _NEUTRAL and c != cls and ("*" in allowed or c in allowed):
                cause = e
                break
    values = dict(head.__dict__)
    if cause is not None:
        values["event_class"] = cause.event_class
    for source in ([cause] if cause is not None else []) + events[1:]:
        for f in _ENTITY_FIELDS:
            if values[f] is None and getattr(source, f) is not None:
                values[f] = getattr(source, f)
    if values["logger"] is None:
        values["logger"] = next((e.logger for e in events if e.logger), None)
    text = "\n".join(e.line for e in events)
    if len(text) > MAX_EVENT_LINE:
        text = text[:MAX_EVENT_LINE] + f"…[{len(text) - MAX_EVENT_LINE} more chars]"
    values["line"] = text
    return make_event(values)
