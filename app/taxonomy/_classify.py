"""One physical line -> one `LogEvent` (pure; no state between lines).

Steps: clean the text, split the layout (`_envelope`), split the message's context ident, find the
first rule (in taxonomy order) whose literal occurs and whose pattern matches, then fill entities
from the ident and the rule's captures.
"""

from __future__ import annotations

from typing import Any

from app.model import LogEvent

from . import _entities as ent
from . import _envelope as env
from ._rules import UNKNOWN, Taxonomy, simple_logger

MAX_EVENT_LINE = 65_536  # characters of the original line kept on the event

_FIELDS = tuple(LogEvent.__dataclass_fields__)
_BLANK = dict.fromkeys(_FIELDS)
_BLANK["line"] = ""
_new = object.__new__


def make_event(values: dict[str, Any]) -> LogEvent:
    """Build a LogEvent without the frozen-dataclass __init__ (5x faster on the hot path).

    `values` must hold exactly the LogEvent fields; the result compares equal to
    `LogEvent(**values)`.
    """
    event = _new(LogEvent)
    event.__dict__.update(values)
    return event


_LOGGER_KEYS: dict[str, str] = {}


def logger_key(logger: str) -> str:
    key = _LOGGER_KEYS.get(logger)
    if key is None:
        if len(_LOGGER_KEYS) > 10_000:
            _LOGGER_KEYS.clear()
        key = _LOGGER_KEYS[logger] = simple_logger(logger)
    return key


def classify_line(tax: Taxonomy, raw: str | bytes) -> tuple[LogEvent, str]:
    """The event for one physical line, and its layout kind (see `_envelope`)."""
    if _RESULTS_OWNER[0] != id(tax):
        _RESULTS.clear()
        _RESULTS_OWNER[0] = id(tax)
    line = env.clean(raw)
    e = env.parse(line)
    values = _BLANK.copy()
    values["line"] = (
        line
        if len(line) <= MAX_EVENT_LINE
        else line[:MAX_EVENT_LINE] + f"…[{len(line) - MAX_EVENT_LINE} more chars]"
    )
    values["ts"] = e.ts
    values["severity"] = e.level
    values["logger"] = e.logger
    if e.kind == env.GC:
        values["event_class"] = _gc_class(tax, e.message)
        return make_event(values), e.kind

    message = e.message
    key = (e.kind, e.logger, e.level, message)
    hit = _RESULTS.get(key) if len(message) <= _CACHE_MAX_MESSAGE else None
    if hit is None:
        hit = _classify_message(tax, e.kind, e.logger, e.level, message)
        if len(message) <= _CACHE_MAX_MESSAGE:
            if len(_RESULTS) >= _CACHE_SIZE:
                _RESULTS.clear()
            _RESULTS[key] = hit
    values["event_class"] = hit[0]
    if hit[1]:
        for k, v in hit[1].items():
            values[k] = v.copy() if type(v) is list else v  # events never share a mutable list
    return make_event(values), e.kind


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
