"""Alignment in time: which broker changed first, and how log bursts lead or lag metric changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.correlate.observe import Observation


@dataclass(frozen=True)
class LeadLag:
    log: Observation
    metric: Observation
    seconds: float  # log burst start minus metric change: > 0 the log lags, < 0 it leads


def first_changes(
    observations: Iterable[Observation], prefer: str | None = None
) -> list[tuple[str, datetime]]:
    """Each broker's earliest change, earliest broker first (ties: `prefer`, then broker id).

    At scrape resolution a cause and its first symptom often share a timestamp; `prefer` (the
    culprit the rules found) breaks such a tie.

    A log line about another broker (an ISR shrink removing it, a fencing) is that broker's
    symptom seen from outside, so it does not make the emitting broker a mover.
    """
    first: dict[str, datetime] = {}
    for o in observations:
        if o.broker is None or o.kind == "gap" and o.name == "logs":
            continue  # a silence starts at the last line, which says little about when things changed
        if o.kind == "log" and o.subject not in (None, o.broker):
            continue
        if o.broker not in first or o.at < first[o.broker]:
            first[o.broker] = o.at
    return sorted(first.items(), key=lambda kv: (kv[1], kv[0] != prefer, kv[0]))


def lead_lag(log: Observation, metrics: Iterable[Observation], max_s: float) -> LeadLag | None:
    """The metric change nearest a log burst on the same broker (or the broker it is about)."""
    related = {log.broker, log.subject} - {None}
    best: LeadLag | None = None
    for m in metrics:
        if m.kind == "log" or (related and m.broker not in related):
            continue
        seconds = (log.at - m.at).total_seconds()
        if abs(seconds) > max_s:
            continue
        key = (abs(seconds), m.sort_key())
        if best is None or key < (abs(best.seconds), best.metric.sort_key()):
            best = LeadLag(log, m, seconds)
    return best
