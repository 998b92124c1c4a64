"""The whole diagnosis, one stage after the other: load → detect → classify → correlate.

Each stage is timed so the benchmark and the UI can say where time goes. A failing
source does not stop the pipeline: its report says what is missing and the rest runs.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TypeVar

import numpy as np
import pandas as pd

from app import taxonomy
from app.bundle import empty_logs, empty_metrics
from app.correlate import correlate
from app.detect import detect_metrics
from app.model import Finding, Incident, LogEvent, SourceReport, Window
from app.signals import load_library
from app.sources.base import LogsResult, MetricsResult, QueryRejected, Source, SourceError

T = TypeVar("T")


class UnknownBroker(ValueError):
    """The asked-for broker is not in the source; the message lists the known ones."""


class UnknownScope(UnknownBroker):
    """The asked-for cluster is not in the source (or is ambiguous); the message lists the known ones."""


@dataclass(frozen=True)
class Diagnosis:
    incident: Incident
    findings: list[Finding]
    events: list[LogEvent]
    metrics: pd.DataFrame
    logs: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def diagnose(source: Source, window: Window | None = None, broker: str | None = None) -> Diagnosis:
    """Run every stage on `source` over `window` (default: the source's own window)."""
    # The run allocates ~200k long-lived objects (a day of log events) and little cyclic garbage.
    # The cycle collector is paused meanwhile, and what the run made is moved straight to the oldest
    # generation (freeze + unfreeze, no traversal): otherwise the young collections re-scan the events
    # two or three times right after the run (0.1-0.2 s on a day of logs). Cycles left behind are
    # still found by the next full collection.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _diagnose(source, window, broker)
    finally:
        if paused:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _diagnose(source: Source, window: Window | None, broker: str | None) -> Diagnosis:
    timings: dict[str, float] = {}
    try:
        brokers, lookup_error = source.brokers(), None
    except QueryRejected as exc:
        # The server works but refuses what was asked (unknown or ambiguous cluster): the user fixes it.
        raise UnknownScope(str(exc)) from None
    except SourceError as exc:
        # The metrics server is down or slow: go on with the logs, and say what is missing.
        brokers, lookup_error = [], exc
    if lookup_error is None and broker not in (None, "all") and broker not in brokers:
        raise UnknownBroker(
            f"broker {_short(broker)} is not in this cluster; known brokers: {', '.join(brokers) or 'none'}"
        )
    window = window or source.default_window()
    if window is None:
        raise ValueError("no window given and the source has no default; pass --from and --to")

    if lookup_error is None:
        metrics = _timed(timings, "load_metrics", lambda: _safe_metrics(source, window))
    else:
        metrics = MetricsResult(empty_metrics(), [SourceReport("metrics", "error", str(lookup_error))])
    logs = _timed(timings, "load_logs", lambda: _safe_logs(source, window))
    if lookup_error is not None:
        brokers = sorted({str(b) for b in logs.frame["broker"].dropna()}, key=lambda b: (len(b), b))
    library = load_library()
    findings = _timed(
        timings,
        "detect",
        lambda: detect_metrics(metrics.frame, kinds=library.kinds(), healthy=library.healthy_levels()),
    )
    events = _timed(timings, "classify", lambda: classify_frame(logs.frame))
    queries = _queries(metrics.frame)
    incident = _timed(
        timings,
        "correlate",
        lambda: correlate(
            window=window,
            cluster=_safe_cluster(source),
            brokers=brokers,
            findings=findings,
            events=events,
            reports=[*metrics.reports, *logs.reports],
            focus=None if broker in (None, "all") else broker,
            queries=queries,
            metrics=metrics.frame,
            step_seconds=metrics.step_seconds or None,
        ),
    )
    return Diagnosis(incident, findings, events, metrics.frame, logs.frame, timings)


def classify_frame(logs: pd.DataFrame) -> list[LogEvent]:
    """One event per log record, in time order.

    Lines are taken per stream (broker + labels), in time order, split into physical lines (a
    shipper may already have joined a record with newlines) and joined into multi-line records
    (stack traces, config dumps) by the taxonomy, so a record is one event. The stream's broker,
    timestamp and `filename` label fill what the record lacks.
    """
    # As in taxonomy.classify_many: one acyclic event per record; the cycle collector would re-scan
    # the growing list over and over (a third of the stage on 200k lines), so it pauses meanwhile.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _classify_frame(logs)
    finally:
        if paused:
            gc.enable()


def _classify_frame(logs: pd.DataFrame) -> list[LogEvent]:
    if logs.empty:
        return []
    # Plain columns, not pandas cells: per-row DataFrame/iloc access was most of the stage's time.
    stamps = logs["ts"].array  # only read for records whose own line has no timestamp
    texts = logs["line"].tolist()
    stream_of_row, keys = _streams(logs)
    stamp_ns = pd.DatetimeIndex(logs["ts"]).asi8
    stamp_ns = np.where(stamp_ns == np.iinfo(np.int64).min, np.iinfo(np.int64).max, stamp_ns)  # NaT last
    # Rows by stream (in key order), then time, then row order (lexsort is stable).
    order = np.lexsort((stamp_ns, stream_of_row))
    cuts = np.flatnonzero(np.diff(stream_of_row[order])) + 1
    out: list[LogEvent] = []
    for members_arr in np.split(order, cuts):
        members = members_arr.tolist()
        key = keys[stream_of_row[members[0]]]
        broker = key[0] or None
        filename = _label(key[1], "filename")
        entries = [texts[r] for r in members]
        if _joined(entries):
            # A shipper that joins records (newlines inside entries): every entry is a record.
            records = taxonomy.classify_entries(entries, source_broker=broker, filename=filename)
            for start, event in records:
                if event.ts is None:
                    _fill_ts(event, stamps[members[start]])
                out.append(event)
        else:
            # One line per row: the taxonomy joins multi-line records (stack traces, config dumps).
            lines = [(t if isinstance(t, str) else "").rstrip("\r\n") for t in entries]
            for start, _count, event in taxonomy.classify_records(
                lines, source_broker=broker, filename=filename
            ):
                if event.ts is None:
                    _fill_ts(event, stamps[members[start]])
                out.append(event)
    # In time order, events without a time last (both stable).
    timed = [e for e in out if e.ts is not None]
    timed.sort(key=_BY_TS)
    if len(timed) < len(out):
        timed.extend(e for e in out if e.ts is None)
    return timed


_BY_TS = attrgetter("ts")


def _joined(entries: list) -> bool:
    """Does an entry hold a newline before its end (a shipper joined a multi-line record)?"""
    try:
        if "\n" not in "\x00".join(entries):  # one C scan; most streams have no newline at all
            return False
    except TypeError:  # a missing line (NaN) among them
        pass
    return any(isinstance(t, str) and "\n" in t.rstrip("\r\n") for t in entries)


def _fill_ts(event: LogEvent, row_ts: object) -> None:
    """A record whose own line has no time takes its row's (a fresh event, not shared yet)."""
    _set(event, "ts", None if pd.isna(row_ts) else row_ts.to_pydatetime(warn=False))


def _streams(logs: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Per row, the index of its stream in `keys`: sorted (broker or "", labels text or "")."""
    b_codes, b_values = pd.factorize(logs["broker"])  # missing (None, NaN, NA) -> -1
    b_keys = ["", *(str(b) for b in b_values)]
    if "labels" in logs:
        l_codes, l_values = pd.factorize(logs["labels"])
        l_keys = ["", *(v if isinstance(v, str) else "" for v in l_values)]
    else:
        l_codes, l_keys = np.full(len(logs), -1), [""]
    pairs = (b_codes.astype(np.int64) + 1) * len(l_keys) + (l_codes.astype(np.int64) + 1)
    unique_pairs, inverse = np.unique(pairs, return_inverse=True)
    pair_keys = [(b_keys[p // len(l_keys)], l_keys[p % len(l_keys)]) for p in unique_pairs.tolist()]
    keys = sorted(set(pair_keys))
    index = {k: i for i, k in enumerate(keys)}
    stream_of_pair = np.array([index[k] for k in pair_keys], dtype=np.int64)
    return stream_of_pair[inverse.reshape(-1)], keys


_set = object.__setattr__  # LogEvent is frozen; only for fresh events nobody else holds


def _label(labels: object, name: str) -> str | None:
    if not isinstance(labels, str) or not labels:
        return None
    try:
        value = json.loads(labels).get(name)
    except (ValueError, AttributeError):
        return None
    return str(value) if value is not None else None


def _queries(metrics: pd.DataFrame) -> dict[str, str]:
    if metrics.empty:
        return {}
    first = metrics.drop_duplicates("signal")
    return dict(zip(first["signal"].astype(str), first["query"].astype(str), strict=True))


def _safe_cluster(source: Source) -> str:
    try:
        return source.cluster()
    except SourceError:
        return "unknown"  # the failure is already in the metrics report


def _safe_metrics(source: Source, window: Window) -> MetricsResult:
    try:
        return source.metrics(window)
    except SourceError as exc:
        return MetricsResult(empty_metrics(), [SourceReport("metrics", "error", str(exc))])


def _safe_logs(source: Source, window: Window) -> LogsResult:
    try:
        return source.logs(window)
    except SourceError as exc:
        return LogsResult(empty_logs(), [SourceReport("logs", "error", str(exc))])


def _timed(timings: dict[str, float], stage: str, work: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = work()
    timings[stage] = time.perf_counter() - start
    return result


def _short(value: object, limit: int = 60) -> str:
    """repr() of user input for messages, cut so a 1 MB argument cannot flood the terminal."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(str(value))} characters)"
