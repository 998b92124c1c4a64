"""One physical line -> one `LogEvent` (pure; no state between lines).

Steps: clean the text, split the layout (`_envelope`), split the message's context ident, find the
first rule (in taxonomy order) whose literal occurs and whose pattern matches, then fill entities
from the ident and the rule's captures.

Real logs repeat: results are cached per taxonomy for whole undated lines (frames, config entries),
for the text after a `[time]` prefix of the two common layouts (kept only when it classifies the
same under a second prefix), and for messages. A cache hit gives exactly the cold result
(tests/unit/taxonomy/test_line_cache.py); lines are turned into `Result` tuples first and into
LogEvents only per record.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from app.model import LogEvent

from . import _entities as ent
from . import _envelope as env
from ._rules import UNKNOWN, Taxonomy, simple_logger

MAX_EVENT_LINE = 65_536  # characters of the original line kept on the event

_FIELDS = tuple(LogEvent.__dataclass_fields__)
ENTITY_FIELDS = ("broker", "peer", "topic", "partition", "group", "isr_from", "isr_to", "member", "log_dir")


class _Fresh:
    """A mutable twin of the slotted LogEvent: filled with plain attribute stores, then re-typed.

    LogEvent is frozen, so its __init__ sets each of its 16 slots through object.__setattr__
    (1.1 us an event, 0.2 s on a day of logs); the twin's stores and the `__class__` switch (legal
    between classes with the same slots) take a third of that. The twin never escapes `new_event`.
    """

    __slots__ = LogEvent.__slots__

    def __init__(
        self, event_class, severity, ts, logger, broker, peer, topic, partition, group,
        isr_from, isr_to, member, log_dir, line, source_broker, filename,
    ) -> None:  # fmt: skip
        self.event_class = event_class
        self.severity = severity
        self.ts = ts
        self.logger = logger
        self.broker = broker
        self.peer = peer
        self.topic = topic
        self.partition = partition
        self.group = group
        self.isr_from = isr_from
        self.isr_to = isr_to
        self.member = member
        self.log_dir = log_dir
        self.line = line
        self.source_broker = source_broker
        self.filename = filename


_EXPECTED = ("event_class", "severity", "ts", "logger", *ENTITY_FIELDS, "line", "source_broker", "filename")
if _FIELDS != _EXPECTED or tuple(LogEvent.__slots__) != _FIELDS:  # pragma: no cover - update _Fresh
    raise ImportError(f"LogEvent fields changed ({_FIELDS}); update app/taxonomy/_classify._Fresh")


def new_event(
    event_class: str,
    severity: str | None = None,
    ts: datetime | None = None,
    logger: str | None = None,
    broker: str | None = None,
    peer: str | None = None,
    topic: str | None = None,
    partition: int | None = None,
    group: str | None = None,
    isr_from: list[int] | None = None,
    isr_to: list[int] | None = None,
    member: str | None = None,
    log_dir: str | None = None,
    line: str = "",
    source_broker: str | None = None,
    filename: str | None = None,
) -> LogEvent:
    """`LogEvent(...)` without the frozen dataclass __init__ (3x faster); compares equal to it."""
    event = _Fresh(
        event_class, severity, ts, logger, broker, peer, topic, partition, group,
        isr_from, isr_to, member, log_dir, line, source_broker, filename,
    )  # fmt: skip
    event.__class__ = LogEvent
    return event  # type: ignore[return-value]


def make_event(values: dict[str, Any]) -> LogEvent:
    """Build a LogEvent from a dict holding exactly its fields (see `new_event`)."""
    return new_event(**values)


def event_values(event: LogEvent) -> dict[str, Any]:
    """The fields of an event as a new dict (the inverse of `make_event`)."""
    return {name: getattr(event, name) for name in _FIELDS}


_LOGGER_KEYS: dict[str, str] = {}


def logger_key(logger: str) -> str:
    key = _LOGGER_KEYS.get(logger)
    if key is None:
        if len(_LOGGER_KEYS) > 10_000:
            _LOGGER_KEYS.clear()
        key = _LOGGER_KEYS[logger] = simple_logger(logger)
    return key


# A classified physical line before it becomes an event: (layout kind, class, severity, time,
# logger, entities or None, event text). Records are merged from these, so a continuation line of a
# stack trace or config dump costs no LogEvent of its own. The entities dict may be shared between
# results (it comes from a cache): never mutate it; lists are copied into each event.
Result = tuple[str, str, str | None, datetime | None, str | None, dict[str, Any] | None, str]


def classify_line(tax: Taxonomy, raw: str | bytes) -> tuple[LogEvent, str]:
    """The event for one physical line, and its layout kind (see `_envelope`)."""
    r = line_result(tax, raw)
    return event_of(r), r[0]


def event_of(r: Result, source_broker: str | None = None, filename: str | None = None) -> LogEvent:
    """A fresh LogEvent for one line's result."""
    _kind, event_class, severity, ts, logger, entities, line = r
    if entities is None:
        event = _Fresh(
            event_class, severity, ts, logger, None, None, None, None, None, None, None, None, None,
            line, source_broker, filename,
        )  # fmt: skip
        event.__class__ = LogEvent
        return event  # type: ignore[return-value]
    get = entities.get
    isr_from, isr_to = get("isr_from"), get("isr_to")
    event = _Fresh(
        event_class,
        severity,
        ts,
        logger,
        get("broker"),
        get("peer"),
        get("topic"),
        get("partition"),
        get("group"),
        None if isr_from is None else list(isr_from),
        None if isr_to is None else list(isr_to),
        get("member"),
        get("log_dir"),
        line,
        source_broker,
        filename,
    )  # fmt: skip  (the ISR lists are copied: events never share a mutable list)
    event.__class__ = LogEvent
    return event  # type: ignore[return-value]


def line_results(tax: Taxonomy, lines: list) -> list[Result]:
    """`line_result` of each line; the cache hits of the two time layouts are handled in this loop
    (a day of logs is 200k lines, and the calls per line were most of the classify stage)."""
    if _RESULTS_OWNER[0] != id(tax):
        line_result(tax, "")  # empties the caches of another taxonomy
    out: list[Result] = []
    append = out.append
    kafka_get, gc_get, lines_get = _KAFKA_SUFFIX.get, _GC_SUFFIX.get, _LINES.get
    millis_get, base_get, utc_get = _MILLIS.get, _PREFIX_BASE.get, _GC_UTC_BASE.get
    for raw in lines:
        # As in line_result: a raw line that hits a cache is its own cleaned form.
        if type(raw) is str and 0 < len(raw) <= _CACHED_MAX_LINE and raw[-1] != "\n":
            first = raw[0]
            if first == "[":
                if len(raw) <= _GC_CUT:
                    pass
                elif raw[24] == "]":
                    hit = kafka_get(raw[24:])
                    if hit is not None and raw[20] == ",":
                        millis = millis_get(raw[21:24])
                        base = base_get(raw[1:20], _NO_PREFIX) if millis is not None else None
                        if base is not None and base is not _NO_PREFIX:
                            append((hit[0], hit[1], hit[2], base + millis, hit[3], hit[4], raw))
                            continue
                elif raw[29] == "]":
                    hit = gc_get(raw[30:])
                    if hit is not None and raw[20] == "." and raw[24:29] == "+0000":
                        millis = millis_get(raw[21:24])
                        base = utc_get(raw[1:20]) if millis is not None else None
                        if base is not None:
                            append((hit[0], hit[1], hit[2], base + millis, hit[3], hit[4], raw))
                            continue
            elif first in _UNDATED_FIRST:
                r = lines_get(raw)
                if r is not None:
                    append(r)
                    continue
        append(line_result(tax, raw))
    return out


def line_result(tax: Taxonomy, raw: str | bytes) -> Result:
    """The classification of one physical line (see `Result`)."""
    if _RESULTS_OWNER[0] != id(tax):
        _RESULTS.clear()
        _KAFKA_SUFFIX.clear()
        _GC_SUFFIX.clear()
        _LINES.clear()
        ENTRIES.clear()
        _RESULTS_OWNER[0] = id(tax)
    # Cache keys are cut from cleaned lines (no control characters or surrogates) and a prefix only
    # matches when it is digits and punctuation, so a raw line that hits a cache is its own cleaned
    # form, unless it ends with a line break (cleaning strips it): `clean` is skipped for it.
    if type(raw) is str and raw[-1:] != "\n":
        r = _cached(raw)
        if r is not None:
            return r
    line = env.clean(raw)
    if line is not raw:
        r = _cached(line)
        if r is not None:
            return r
    r = _result_clean(tax, line)
    n = len(line)
    if 0 < n <= _CACHED_MAX_LINE:
        first = line[0]
        if first == "[":
            if n > _GC_CUT and (line[_KAFKA_CUT] == "]" or line[_GC_CUT - 1] == "]"):
                _remember_suffix(tax, line, r)
        elif first in _UNDATED_FIRST:
            if len(_LINES) >= _CACHE_SIZE:
                _LINES.clear()
            _LINES[line] = r
    return r


def clear_caches() -> None:
    """Forget every cached line, rest and message result (tests compare cold and warm runs)."""
    for cache in (
        _RESULTS,
        _KAFKA_SUFFIX,
        _GC_SUFFIX,
        _LINES,
        _PREFIX_BASE,
        _GC_UTC_BASE,
        _MINUTE_BASE,
        ENTRIES,
    ):
        cache.clear()


def _cached(line: str) -> Result | None:
    """The result of a cleaned line from the caches, or None."""
    n = len(line)
    if n == 0 or n > _CACHED_MAX_LINE:
        return None
    first = line[0]
    if first == "[":
        if n > _GC_CUT:
            if line[_KAFKA_CUT] == "]":
                hit = _KAFKA_SUFFIX.get(line[_KAFKA_CUT:])
                if hit is not None:
                    found = _kafka_prefix_ts(line)
                    if found is not _NO_PREFIX:
                        return (hit[0], hit[1], hit[2], found, hit[3], hit[4], line)
            elif line[_GC_CUT - 1] == "]":
                hit = _GC_SUFFIX.get(line[_GC_CUT:])
                if hit is not None:
                    found = _gc_prefix_ts(line)
                    if found is not _NO_PREFIX:
                        return (hit[0], hit[1], hit[2], found, hit[3], hit[4], line)
    elif first in _UNDATED_FIRST:
        # Continuation lines (frames, exception messages, config entries) carry no time and
        # repeat verbatim: the whole line is the key.
        return _LINES.get(line)
    return None


_UNDATED_FIRST = frozenset("\t abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LINES: dict[str, Result] = {}


def _result_clean(tax: Taxonomy, line: str) -> Result:
    e = env.parse(line)
    text = (
        line
        if len(line) <= MAX_EVENT_LINE
        else line[:MAX_EVENT_LINE] + f"…[{len(line) - MAX_EVENT_LINE} more chars]"
    )
    if e.kind == env.GC:
        return (e.kind, _gc_class(tax, e.message), e.level, e.ts, e.logger, None, text)

    message = e.message
    key = (e.kind, e.logger, e.level, message)
    hit = _RESULTS.get(key) if len(message) <= _CACHE_MAX_MESSAGE else None
    if hit is None:
        hit = _classify_message(tax, e.kind, e.logger, e.level, message)
        if len(message) <= _CACHE_MAX_MESSAGE:
            if len(_RESULTS) >= _CACHE_SIZE:
                _RESULTS.clear()
            _RESULTS[key] = hit
    return (e.kind, hit[0], e.level, e.ts, e.logger, hit[1], text)


# Most lines are `[time] rest` in one of two fixed-width layouts, and real logs repeat `rest` over
# and over (heartbeats, GC phases, connection warnings): 200k lines of a day hold a few thousand
# distinct ones. The layout parse and classification of `rest` is kept per taxonomy; a line whose
# `rest` is known only needs its time. `rest` is kept only when the parse of the same `rest` under
# a second prefix gives the same event but for the time, and that time is the prefix's own: the
# layout parse then depends on the prefix only through its time.
_KAFKA_CUT = 24  # `[2026-06-18 17:14:03,339]` then `] INFO ...`
_GC_CUT = 30  # `[2026-12-04T23:42:28.735+0000]` then `[gc,...] ...`
_KAFKA_PREFIX = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]")
_GC_PREFIX = re.compile(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}\]")
_SENTINELS = {
    _KAFKA_CUT: ("[1999-01-02 03:04:05,678", "[1998-11-12 13:14:15,161"),
    _GC_CUT: ("[1999-01-02T03:04:05.678+0000]", "[1998-11-12T13:14:15.161-0130]"),
}
_CACHED_MAX_LINE = 2_000  # longer lines are rare and rarely repeat
_SUFFIX_SIZE = 20_000
_KAFKA_SUFFIX: dict[str, tuple] = {}
_GC_SUFFIX: dict[str, tuple] = {}
_PREFIX_BASE: dict[str, datetime | None] = {}  # validated `[date time` (+ offset) -> whole seconds
_NO_PREFIX = object()


NO_PREFIX = _NO_PREFIX
ENTRIES: dict[tuple[int, str], tuple] = {}  # whole multi-line entries (see _records.classify_entries)
ENTRIES_SIZE = 5_000


def owns_caches(tax: Taxonomy) -> bool:
    """The caches hold results of `tax` (they are emptied when another taxonomy is used)."""
    return _RESULTS_OWNER[0] == id(tax)


def prefix_cut(line: str) -> int | None:
    """Where the text after a `[time]` prefix of one of the two known layouts starts, if it may."""
    if len(line) > _GC_CUT and line[0] == "[":
        if line[_KAFKA_CUT] == "]":
            return _KAFKA_CUT
        if line[_GC_CUT - 1] == "]":
            return _GC_CUT
    return None


def prefix_ts(line: str, cut: int) -> object:
    """The prefix's time (None: an impossible date), or NO_PREFIX when it is not the layout's."""
    return _kafka_prefix_ts(line) if cut == _KAFKA_CUT else _gc_prefix_ts(line)


def suffix_verified(line: str, cut: int) -> bool:
    """The line's text after its prefix is known to classify the same under any valid prefix."""
    table = _KAFKA_SUFFIX if cut == _KAFKA_CUT else _GC_SUFFIX
    return line[cut:] in table and prefix_ts(line, cut) is not _NO_PREFIX


def _kafka_prefix_ts(line: str) -> object:
    """The time of a `[yyyy-MM-dd HH:mm:ss,SSS]` prefix (None: an impossible date), or _NO_PREFIX."""
    millis = _MILLIS.get(line[21:24])
    if millis is None or line[20] != ",":
        return _NO_PREFIX
    base = _PREFIX_BASE.get(line[1:20], _NO_PREFIX)
    if base is _NO_PREFIX:
        base = _new_base(line, line[1:17], line[1:20], "", _KAFKA_PREFIX)
        if base is _NO_PREFIX:
            return _NO_PREFIX
    return None if base is None else base + millis


def _gc_prefix_ts(line: str) -> object:
    """The time of a `[yyyy-MM-ddTHH:mm:ss.SSS+hhmm]` prefix (None: an impossible date), or _NO_PREFIX."""
    millis = _MILLIS.get(line[21:24])
    if millis is None or line[20] != ".":
        return _NO_PREFIX
    offset = line[24:29]
    key = line[1:20] + offset
    base = _PREFIX_BASE.get(key, _NO_PREFIX)
    if base is _NO_PREFIX:
        base = _new_base(line, line[1:17] + offset, key, offset, _GC_PREFIX)
        if base is _NO_PREFIX:
            return _NO_PREFIX
    return None if base is None else base + millis


def _new_base(line: str, minute_key: str, key: str, offset: str, layout: re.Pattern[str]) -> object:
    """The whole second of a prefix not seen yet: its validated minute plus the seconds when the
    minute is known (a day of logs has ~15k distinct seconds, and parsing each was 3-5 us), else
    parsed and validated in full (the minute then kept)."""
    minute = _MINUTE_BASE.get(minute_key, _NO_PREFIX)
    seconds = _SECONDS.get(line[18:20])
    if minute is not _NO_PREFIX and minute is not None and seconds is not None and line[17] == ":":
        return _remember_base(key, minute + seconds)
    if not layout.match(line):
        return _NO_PREFIX
    if offset:
        base = env._iso_ts(line[1:20] + ".000" + offset)
        whole_minute = env._iso_ts(line[1:17] + ":00.000" + offset)
    else:
        base = env._kafka_ts(line[1:20] + ",000")
        whole_minute = env._kafka_ts(line[1:17] + ":00,000")
    if len(_MINUTE_BASE) > 10_000:
        _MINUTE_BASE.clear()
    _MINUTE_BASE[minute_key] = whole_minute
    return _remember_base(key, base)


_MINUTE_BASE: dict[str, datetime | None] = {}  # validated `yyyy-MM-dd HH:mm` (+ offset) -> the minute
_SECONDS = {f"{s:02d}": timedelta(seconds=s) for s in range(60)}


def _remember_base(key: str, base: datetime | None) -> datetime | None:
    if len(_PREFIX_BASE) > 50_000:
        _PREFIX_BASE.clear()
        _GC_UTC_BASE.clear()
    _PREFIX_BASE[key] = base
    if len(key) == 24 and key.endswith("+0000") and base is not None:
        _GC_UTC_BASE[key[:19]] = base  # the GC layout at UTC: `line_results` looks it up without the offset
    return base


_GC_UTC_BASE: dict[str, datetime] = {}


_MILLIS = env._MILLIS  # "000".."999" -> timedelta, shared with the layout parser


def _remember_suffix(tax: Taxonomy, line: str, r: Result) -> None:
    if line[_KAFKA_CUT] == "]":
        cut, prefix_ts, table = _KAFKA_CUT, _kafka_prefix_ts, _KAFKA_SUFFIX
    else:
        cut, prefix_ts, table = _GC_CUT, _gc_prefix_ts, _GC_SUFFIX
    ts = prefix_ts(line)
    if ts is _NO_PREFIX or r[3] != ts:
        return
    rest = line[cut:]
    first, second = _SENTINELS[cut]
    other = (second if line.startswith(first) else first) + rest
    twin = _result_clean(tax, other)
    if twin[3] != prefix_ts(other) or twin[3] == ts or twin[:3] != r[:3] or twin[4] != r[4]:
        return
    if _entities(twin[5]) != _entities(r[5]):
        return
    if len(table) >= _SUFFIX_SIZE:
        table.clear()
    table[rest] = (r[0], r[1], r[2], r[4], r[5])


def _entities(entities: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (entities or {}).items() if v is not None}


# Real logs repeat whole messages (config dumps at every start, heartbeats, connection warnings,
# client retries): the class and entities of a (layout kind, logger, level, message) are kept.
# Bounded; per taxonomy object so an edited taxonomy never sees stale results.
_CACHE_SIZE = 20_000
_CACHE_MAX_MESSAGE = 2_000
_RESULTS: dict[tuple, tuple[str, dict[str, Any] | None]] = {}
_RESULTS_OWNER: list[int] = [0]


def _classify_message(
    tax: Taxonomy, kind: str, logger: str | None, level: str | None, message: str
) -> tuple[str, dict[str, Any] | None]:
    ident, name, body = ent.split_ident(message)
    if kind == env.PLAIN:
        allowed, always = tax.plain
        body = message  # continuation patterns look at leading whitespace
    elif logger is not None:
        table = tax.by_logger.get(logger_key(logger))
        allowed, always = table if table is not None else tax.header_any
    else:
        allowed, always = tax.header_any

    matched_cls, groups = _first_match(tax, body, allowed, always, level, name)
    if kind == env.PLAIN and matched_cls is None and body.strip():
        stripped = body.lstrip()
        if len(stripped) != len(body):
            matched_cls, groups = _first_match(tax, stripped, allowed, always, level, name)
    entities: dict[str, Any] = {}
    if ident:
        entities.update(ent.ident_entities(ident))
    if groups:
        entities.update(ent.from_match(groups))
    return matched_cls or UNKNOWN, entities or None


def _first_match(
    tax: Taxonomy,
    body: str,
    allowed: frozenset[int],
    always: tuple[int, ...],
    level: str | None,
    ident_name: str,
) -> tuple[str | None, dict[str, str | None] | None]:
    candidates: set[int] | None = None
    if body:
        lm = tax.literal_matchers
        for lit, _start, _end in tax.automaton.find_matches_as_indexes(body, overlapping=True):
            for k in lm[lit]:
                if k in allowed:
                    if candidates is None:
                        candidates = {k}
                    else:
                        candidates.add(k)
    if candidates is None:
        order = always
    else:
        candidates.update(always)
        order = sorted(candidates)
    matchers = tax.matchers
    for k in order:
        m = matchers[k]
        rule = m.rule
        if rule.levels is not None and level is not None and level not in rule.levels:
            continue
        if rule.idents is not None and not ident_name.startswith(rule.idents):
            continue
        if m.rx is None:
            return rule.event_class, None
        found = m.rx.search(body)
        if found is not None:
            return rule.event_class, found.groupdict() if found.re.groups else None
    return None, None


def _gc_class(tax: Taxonomy, message: str) -> str:
    if "Pause" not in message and not message.startswith(("[GC", "[Full GC", "Total time")):
        return "gc_info"  # heap, phase and start-up detail lines: most of a GC log
    for rx in tax.gc_pause:
        m = rx.search(message)
        if m is None:
            continue
        groups = m.groupdict()
        if groups.get("ms") is not None:
            ms = float(groups["ms"])
        else:
            ms = float(groups["secs"]) * 1000.0
        return "long_gc_pause" if ms >= tax.long_pause_ms else "gc_pause"
    return "gc_info"
