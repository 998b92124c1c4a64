"""Multi-line records: per-line labels with context, and one event per joined record.

A record is a line in a log layout (a log4j header or a GC line) and the layout-less lines after
it: exception lines, `\\tat ...` frames, `\\tkey = value` config entries, log-cleaner statistics,
and the ` (logger)` trailer of a multi-line message. Lines before the first header form a record
of their own. Records are cut at `MAX_RECORD_LINES` so one runaway stream cannot glue everything.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from itertools import islice

from app.model import LogEvent

from . import _envelope as env
from ._classify import (
    ENTITY_FIELDS,
    ENTRIES,
    ENTRIES_SIZE,
    MAX_EVENT_LINE,
    NO_PREFIX,
    Result,
    event_of,
    event_values,
    line_results,
    make_event,
    owns_caches,
    prefix_cut,
    prefix_ts,
    suffix_verified,
)
from ._rules import UNKNOWN, Taxonomy

MAX_RECORD_LINES = 1000

# Classes whose continuation lines keep the parent's class (classes note, "Multi-line records").
_PARENT_KEEPS = frozenset({"config_dump", "log_cleaner"})
# Continuation classes that say nothing of their own about the incident.
_NEUTRAL = frozenset({"stack_trace", UNKNOWN, "config_dump", "log_cleaner", "other_info"})


def label_lines(tax: Taxonomy, lines: Iterable[str | bytes]) -> Iterator[tuple[LogEvent, str]]:
    """(event, layout kind) per physical line, in order, using the record each line belongs to.

    Exception lines take the level of the record they follow (frames, config-dump and
    statistics lines keep None); continuation lines of config dumps and log-cleaner summaries
    keep the parent's class.
    """
    for r in _labelled(tax, lines):
        yield event_of(r), r[0]


def _labelled(tax: Taxonomy, lines: Iterable[str | bytes], context: list | None = None) -> Iterator[Result]:
    """Each line's result with its record's context applied (see `label_lines`).

    `context`: [header level, parent class] carried in from earlier lines and written back when the
    lines are exhausted (entries of one stream classified one after the other).
    """
    header_level, parent = context if context is not None else (None, None)
    for r in _results(tax, lines):
        kind = r[0]
        if kind == env.LOG4J or kind == env.GC:
            header_level = r[2]
            parent = r[1] if r[1] in _PARENT_KEEPS else None
        elif parent is not None:
            if r[1] != parent and r[1] in _NEUTRAL:
                r = (kind, parent, *r[2:])
        elif header_level is not None and kind == env.PLAIN and _is_exception_line(r[6]):
            r = (kind, r[1], header_level, *r[3:])
        yield r
    if context is not None:
        context[:] = (header_level, parent)


def _results(tax: Taxonomy, lines: Iterable[str | bytes]) -> Iterator[Result]:
    """line_results over the lines, a few thousand at a time (streaming any iterable)."""
    for chunk in _chunks(lines):
        yield from line_results(tax, chunk)


def _chunks(lines: Iterable[str | bytes]) -> Iterator[list]:
    if isinstance(lines, list | tuple):
        for at in range(0, len(lines), _CHUNK):
            yield lines[at : at + _CHUNK]
        return
    it = iter(lines)
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


_CHUNK = 4096


def classify_lines(tax: Taxonomy, lines: Iterable[str | bytes]) -> Iterator[LogEvent]:
    """One event per physical line (see `label_lines`)."""
    for r in _labelled(tax, lines):
        yield event_of(r)


def _is_exception_line(line: str) -> bool:
    s = line.lstrip()
    if not s or s.startswith("at ") or s.startswith("... "):
        return False
    return not line.startswith("\t") or s.startswith("Caused by")


def classify_records(
    tax: Taxonomy,
    lines: Iterable[str | bytes],
    starts: Container[int] | None = None,
    *,
    source_broker: str | None = None,
    filename: str | None = None,
) -> Iterator[tuple[int, int, LogEvent]]:
    """(index of the record's first line, number of lines, event) per record, streaming.

    `starts`: line indices that begin a record whatever they look like (entries a shipper
    already joined into whole records). `source_broker` and `filename` fill those fields.
    """
    # The open record: its first line's result, and the rest's (None while it is one line: most
    # records are, and a list per record was a tenth of this loop).
    head: Result | None = None
    rest: list[Result] | None = None
    start = 0
    i = -1
    level: str | None = None
    parent: str | None = None
    log4j, gc, plain = env.LOG4J, env.GC, env.PLAIN
    for chunk in _chunks(lines):
        for r in line_results(tax, chunk):
            i += 1
            kind = r[0]  # the record context, as in _labelled
            header = kind == log4j or kind == gc
            if header:
                level = r[2]
                parent = r[1] if r[1] in _PARENT_KEEPS else None
            elif parent is not None:
                if r[1] != parent and r[1] in _NEUTRAL:
                    r = (kind, parent, *r[2:])
            elif level is not None and kind == plain and _is_exception_line(r[6]):
                r = (kind, r[1], level, *r[3:])
            if head is not None and (
                header
                or (rest is not None and len(rest) + 1 >= MAX_RECORD_LINES)
                or (starts is not None and i in starts)
            ):
                if rest is None:
                    yield start, 1, event_of(head, source_broker, filename)
                else:
                    yield start, len(rest) + 1, _merge(tax, [head, *rest], source_broker, filename)
                head = rest = None
            if head is None:
                start = i
                head = r
            elif rest is None:
                rest = [r]
            else:
                rest.append(r)
    if head is not None:
        records = [head] if rest is None else [head, *rest]
        yield start, len(records), _merge(tax, records, source_broker, filename)


def classify_entries(
    tax: Taxonomy,
    entries: Iterable[object],
    *,
    source_broker: str | None = None,
    filename: str | None = None,
) -> Iterator[tuple[int, LogEvent]]:
    """(entry index, event) per record of a stream whose entries are whole records already.

    The same events as `classify_records` over the entries' lines with every entry starting a
    record (a shipper that joins multi-line records), but an entry is handled whole: an entry
    whose first line has a known time prefix and whose text after it was seen before (a stack
    trace or config dump logged again) costs one lookup instead of one step per line.
    """
    level: str | None = None
    parent: str | None = None
    log4j, gc, plain = env.LOG4J, env.GC, env.PLAIN
    entries = entries if isinstance(entries, list) else list(entries)
    for at in range(0, len(entries), _CHUNK):
        texts = [(e if isinstance(e, str) else "").rstrip("\r\n") for e in entries[at : at + _CHUNK]]
        # The one-line entries of the chunk in one batch (most of a stream).
        singles = iter(line_results(tax, [t for t in texts if "\n" not in t]))
        for index, text in enumerate(texts, start=at):
            if "\n" not in text:
                r = next(singles)
                kind = r[0]  # the record context, as in _labelled
                if kind == log4j or kind == gc:
                    level = r[2]
                    parent = r[1] if r[1] in _PARENT_KEEPS else None
                elif parent is not None:
                    if r[1] != parent and r[1] in _NEUTRAL:
                        r = (kind, parent, *r[2:])
                elif level is not None and kind == plain and _is_exception_line(r[6]):
                    r = (kind, r[1], level, *r[3:])
                yield index, event_of(r, source_broker, filename)
                continue
            hit = _entry_cached(tax, text)
            if hit is not None:
                r, level, parent = hit
                yield index, event_of(r, source_broker, filename)
                continue
            pieces = text.split("\n")
            context = [level, parent]
            results = list(_labelled(tax, pieces, context))
            level, parent = context
            records = _split(results)
            for buf in records:
                merged = _merged(tax, buf)
                yield index, event_of(merged, source_broker, filename)
            if len(records) == 1:
                _remember_entry(text, pieces, results, merged, context)


def _split(results: list[Result]) -> list[list[Result]]:
    """One entry's line results cut into records (at headers and every MAX_RECORD_LINES lines)."""
    records: list[list[Result]] = []
    buf: list[Result] = []
    for r in results:
        if buf and (r[0] == env.LOG4J or r[0] == env.GC or len(buf) >= MAX_RECORD_LINES):
            records.append(buf)
            buf = []
        buf.append(r)
    if buf:
        records.append(buf)
    return records


# Whole multi-line entries seen before, by their text after the first line's time prefix: the
# record's result without its time, and the context it leaves (header level, parent class). Kept
# only when the first line is a header whose rest is in the verified suffix caches (its result
# depends on the prefix only through the time), the entry is one record, and every line was
# already clean (so the event text is the entry text itself).


def _entry_cached(tax: Taxonomy, text: str) -> tuple[Result, str | None, str | None] | None:
    if not ENTRIES or len(text) > MAX_EVENT_LINE or not owns_caches(tax):
        return None
    cut = prefix_cut(text)
    if cut is None:
        return None
    hit = ENTRIES.get((cut, text[cut:]))
    if hit is None:
        return None
    ts = prefix_ts(text, cut)
    if ts is NO_PREFIX:
        return None
    kind, cls, severity, logger, entities, level, parent = hit
    return (kind, cls, severity, ts, logger, entities, text), level, parent


def _remember_entry(
    text: str, pieces: list[str], results: list[Result], merged: Result, context: list
) -> None:
    if len(text) > MAX_EVENT_LINE or len(pieces) > MAX_RECORD_LINES:
        return
    cut = prefix_cut(pieces[0])
    if cut is None or not suffix_verified(pieces[0], cut):
        return
    if results[0][0] != env.LOG4J and results[0][0] != env.GC:
        return
    if any(r[6] != piece for r, piece in zip(results, pieces, strict=True)):
        return
    if len(ENTRIES) >= ENTRIES_SIZE:
        ENTRIES.clear()
    kind, cls, severity, _ts, logger, entities, _text = merged
    ENTRIES[(cut, text[cut:])] = (kind, cls, severity, logger, entities, context[0], context[1])


def _merge(tax: Taxonomy, rs: list[Result], source_broker: str | None, filename: str | None) -> LogEvent:
    """`merge_record` on line results: one event for the record."""
    return event_of(_merged(tax, rs), source_broker, filename)


def _merged(tax: Taxonomy, rs: list[Result]) -> Result:
    """The result of a record from its lines' results (what `merge_record` does to events)."""
    head = rs[0]
    if len(rs) == 1:
        return head
    cls = head[1]
    anywhere = tax.overrides.get("*", _NONE)
    allowed = tax.overrides.get(cls, _NONE)
    rest = rs[1:]
    cause = next((r for r in rest if r[1] in anywhere and r[1] != cls), None)
    if cause is None and allowed:
        for r in rest:
            c = r[1]
            if c not in _NEUTRAL and c != cls and ("*" in allowed or c in allowed):
                cause = r
                break
    entities = {k: v for k, v in head[5].items() if v is not None} if head[5] else {}
    for source in [cause, *rest] if cause is not None else rest:
        found = source[5]
        if found:
            for k, v in found.items():
                if v is not None and k not in entities:
                    entities[k] = v
    logger = head[4]
    if logger is None:
        logger = next((r[4] for r in rs if r[4]), None)
    text = "\n".join(r[6] for r in rs)
    if len(text) > MAX_EVENT_LINE:
        text = text[:MAX_EVENT_LINE] + f"…[{len(text) - MAX_EVENT_LINE} more chars]"
    return (
        head[0],
        cause[1] if cause is not None else cls,
        head[2],
        head[3],
        logger,
        entities or None,
        text,
    )


_NONE: frozenset[str] = frozenset()


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
    values = event_values(head)
    if cause is not None:
        values["event_class"] = cause.event_class
    for source in ([cause] if cause is not None else []) + events[1:]:
        for f in ENTITY_FIELDS:
            if values[f] is None and getattr(source, f) is not None:
                values[f] = getattr(source, f)
    if values["logger"] is None:
        values["logger"] = next((e.logger for e in events if e.logger), None)
    text = "\n".join(e.line for e in events)
    if len(text) > MAX_EVENT_LINE:
        text = text[:MAX_EVENT_LINE] + f"…[{len(text) - MAX_EVENT_LINE} more chars]"
    values["line"] = text
    return make_event(values)
