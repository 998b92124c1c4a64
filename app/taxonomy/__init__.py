"""Kafka log taxonomy: log lines -> typed `LogEvent`s (class, severity, time, entities).

Public surface:
    classify(line)                 one physical line -> LogEvent (a string holding several lines
                                   is treated as one multi-line record)
    classify_many(lines)           one LogEvent per physical line, with record context
    classify_entries(entries)      streaming: (entry index, LogEvent) per record of whole entries
    classify_records(lines)        streaming: (first index, line count, LogEvent) per joined
                                   multi-line record (stack traces, config dumps, cleaner stats)
    group_unknown(events)          drain3 templates for the events classified `unknown`
    TemplateGroups                 incremental form of group_unknown
    class_counts(events)           {class: count}
    load_taxonomy(path)            the compiled rules (default loki_queries/taxonomy.yaml)
    CLASSES, UNKNOWN, TaxonomyError

Patterns are data (loki_queries/taxonomy.yaml); this package only applies them.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from pathlib import Path

from app.model import LogEvent

from ._classify import classify_line
from ._records import classify_entries as _classify_entries
from ._records import classify_lines, label_lines, merge_record
from ._records import classify_records as _classify_records
from ._rules import UNKNOWN, Taxonomy, TaxonomyError, load
from ._templates import Template, TemplateGroups

__all__ = [
    "CLASSES",
    "UNKNOWN",
    "Template",
    "TemplateGroups",
    "TaxonomyError",
    "class_counts",
    "classify",
    "classify_entries",
    "classify_many",
    "classify_records",
    "group_unknown",
    "class_literals",
    "load_taxonomy",
    "logql_for",
]


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    return load(path)


CLASSES: tuple[str, ...] = load().classes


def classify(line: str | bytes, *, taxonomy: Taxonomy | None = None) -> LogEvent:
    """Classify one physical line (never raises on odd input; foreign text is `unknown`)."""
    tax = taxonomy or load()
    if isinstance(line, str) and "\n" in line.rstrip("\r\n"):
        return merge_record(tax, list(classify_lines(tax, line.rstrip("\r\n").split("\n"))))
    return classify_line(tax, line)[0]


def classify_many(lines: Iterable[str | bytes], *, taxonomy: Taxonomy | None = None) -> list[LogEvent]:
    """One event per physical line, in order; exception and config-dump lines use their record."""
    # The batch allocates one acyclic event per line; CPython's cycle collector would re-scan the
    # growing list over and over (about a fifth of the time on 200k lines), so it pauses for the
    # batch. Reference counting still frees everything; cycles made elsewhere wait until the end.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return list(classify_lines(taxonomy or load(), lines))
    finally:
        if paused:
            gc.enable()


def classify_records(
    lines: Iterable[str | bytes],
    *,
    starts: Container[int] | None = None,
    taxonomy: Taxonomy | None = None,
    source_broker: str | None = None,
    filename: str | None = None,
) -> Iterator[tuple[int, int, LogEvent]]:
    """Streaming: one (first line index, line count, event) per multi-line record of one stream.

    `starts` marks line indices that always begin a record (entries already joined by a shipper).
    `source_broker` and `filename` (the stream's) are set on every event.
    """
    return _classify_records(
        taxonomy or load(), lines, starts, source_broker=source_broker, filename=filename
    )


def classify_entries(
    entries: Iterable[object],
    *,
    taxonomy: Taxonomy | None = None,
    source_broker: str | None = None,
    filename: str | None = None,
) -> Iterator[tuple[int, LogEvent]]:
    """Streaming: (entry index, event) per record of a stream whose entries are whole records.

    The events `classify_records` gives for the entries' lines with `starts` at every entry
    (entries a shipper already joined), with repeated multi-line entries classified once.
    """
    return _classify_entries(taxonomy or load(), entries, source_broker=source_broker, filename=filename)


def group_unknown(events: Iterable[LogEvent], **options) -> list[Template]:
    """drain3 templates (most frequent first) of the events no class fits."""
    groups = TemplateGroups(**options)
    groups.extend(e for e in events if e.event_class == UNKNOWN)
    return groups.templates()


def class_counts(events: Iterable[LogEvent]) -> dict[str, int]:
    return dict(Counter(e.event_class for e in events).most_common())


# Kept for callers that label lines one by one with their layout kind.
label = label_lines


def class_literals(event_class: str, *, taxonomy: Taxonomy | None = None) -> list[str]:
    """Literal phrases that every line of `event_class` contains one of (for line filters).

    Each template or regex contributes its longest literal; rules that select by logger only
    contribute the logger names. Empty when the class cannot be pre-filtered (e.g. GC classes,
    whose lines come from a separate file).
    """
    tax = taxonomy or load()
    if event_class not in tax.classes and event_class != UNKNOWN:
        raise LookupError(f"{event_class!r} is not a taxonomy class; known: {', '.join(tax.classes)}")
    words: list[str] = []
    for m in tax.matchers:
        if m.rule.event_class != event_class:
            continue
        if m.literal.strip():
            words.append(m.literal.strip("\t"))
        elif m.rx is None and m.rule.loggers:
            words.extend(sorted(m.rule.loggers))
        elif m.rule.idents and not m.literal:
            words.extend(f"[{name}" for name in m.rule.idents)
        elif m.rx is not None and not m.literal:
            return []  # a pattern without a literal: no safe pre-filter
    return sorted(set(words), key=lambda w: (-len(w), w))


def logql_for(event_class: str, *, broker: str | None = None, cluster: str | None = None) -> str:
    """LogQL selecting the lines of `event_class` (on `broker`, or every broker).

    A superset filter: the literals of the class's patterns, so Loki returns every line the
    taxonomy would put in the class (plus, rarely, a line a higher-precedence class took).
    """
    from app.logql import LogLabels, contains_any, query, selector  # noqa: PLC0415 - keeps import light

    stream = selector(LogLabels(), cluster or None, [broker] if broker else None)
    if event_class in ("gc_pause", "long_gc_pause"):
        return query(
            stream,
            [("|~", r"Pause |\[GC pause|\[Full GC|Total time for which application threads were stopped")],
        )
    words = class_literals(event_class)
    return query(stream, [contains_any(words)]) if words else stream
