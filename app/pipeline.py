"""The whole diagnosis, one stage after the other: load → detect → classify → correlate.

Each stage is timed so the benchmark and the UI can say where time goes. A failing
source does not stop the pipeline: its report says what is missing and the rest runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pandas as pd

from app import taxonomy
from app.bundle import empty_logs, empty_metrics
from app.correlate import correlate
from app.detect import detect_metrics
from app.model import Finding, Incident, LogEvent, SourceReport, Window
from app.signals import load_library
from app.sources.base import LogsResult, MetricsResult, Source, SourceError

T = TypeVar("T")


class UnknownBroker(ValueError):
    """The asked-for broker is not in the source; the message lists the known ones."""


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
    timings: dict[str, float] = {}
    brokers = source.brokers()
    if broker not in (None, "all") and broker not in brokers:
        raise UnknownBroker(f"broker {broker!r} is not in this cluster; known brokers: {', '.join(brokers) or 'none'}")
    window = window or source.default_window()
    if window is None:
        raise ValueError("no window given and the source has no default; pass --from and --to")

    metrics = _timed(timings, "load_metrics", lambda: _safe_metrics(source, window))
    logs = _timed(timings, "load_logs", lambda: _safe_logs(source, window))
    findings = _timed(timings, "detect", lambda: detect_metrics(metrics.frame, kinds=load_library().kinds()))
    events = _timed(timings, "classify", lambda: classify_frame(logs.frame))
    queries = _queries(metrics.frame)
    incident = _timed(
        timings,
        "correlate",
        lambda: correlate(
            window=window,
            cluster=source.cluster(),
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
    """Classify every line; the stream's broker and timestamp fill what the line lacks."""
    if logs.empty:
        return []
    events = taxonomy.classify_many(logs["line"].tolist())
    out = []
    for event, ts, broker in zip(events, logs["ts"], logs["broker"], strict=True):
        out.append(
            dataclasses.replace(
                event,
                ts=event.ts or ts.to_pydatetime(),
                source_broker=None if pd.isna(broker) else str(broker),
            )
        )
    return out


def _queries(metrics: pd.DataFrame) -> dict[str, str]:
    if metrics.empty:
        return {}
    first = metrics.drop_duplicates("signal")
    return dict(zip(first["signal"].astype(str), first["query"].astype(str), strict=True))


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
