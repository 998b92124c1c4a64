"""Glue between tidy frames and the pure detectors: one Series per (signal, broker, labels).

The detectors know nothing about Kafka or frames; this module knows nothing about how a
change point is found. It only cuts the long metrics frame into series and turns the
detectors' typed results into `Finding`s the correlation step understands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

import detectors
from app.model import Finding, LogEvent, utc


def series_groups(metrics: pd.DataFrame) -> Iterable[tuple[tuple[str, str | None, str], pd.Series]]:
    """Yield ((signal, broker, labels), series indexed by ts) from the long frame."""
    if metrics.empty:
        return
    frame = metrics.assign(broker=metrics["broker"].astype("object").where(metrics["broker"].notna(), None))
    for (signal, broker, labels), group in frame.groupby(
        ["signal", "broker", "labels"], dropna=False, sort=True
    ):
        series = pd.Series(group["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(group["ts"]))
        series = series[~series.index.duplicated(keep="last")].sort_index()
        yield (str(signal), None if broker is None or pd.isna(broker) else str(broker), str(labels)), series


def detect_metrics(
    metrics: pd.DataFrame, kinds: dict[str, str] | None = None, *, with_anomalies: bool = False
) -> list[Finding]:
    """Change points (and, when asked, anomalies) for every series; `kinds`: signal id -> kind.

    Signals without a kind are taken as gauges. A kind the detectors do not know is a bug in
    the signal library, so it raises (DetectorInputError) rather than being guessed.
    """
    kinds = kinds or {}
    findings: list[Finding] = []
    for (signal, broker, labels), series in series_groups(metrics):
        kind = kinds.get(signal, "gauge")
        detail = _label_detail(labels)
        for cp in detectors.change_points(series, kind=kind):
            findings.append(
                Finding(
                    signal=signal,
                    broker=broker,
                    kind="change_point",
                    at=_when(cp.at),
                    before=float(cp.before),
                    after=float(cp.after),
                    direction=cp.direction if cp.direction in ("up", "down") else "none",
                    score=float(cp.score),
                    detail=_with_measure(detail, cp.measure),
                )
            )
        if with_anomalies and kind not in ("state", "lag"):
            for anomaly in detectors.anomalies(series, kind=kind):
                findings.append(
                    Finding(
                        signal=signal,
                        broker=broker,
                        kind="anomaly",
                        at=_when(anomaly.at),
                        end=_when(anomaly.end),
                        before=float(anomaly.expected),
                        after=float(anomaly.value),
                        direction=anomaly.direction,
                        score=float(anomaly.score),
                        detail=detail,
                    )
                )
    return findings


def detect_bursts(
    counts: pd.DataFrame, freq: str = "15s", start: datetime | None = None, end: datetime | None = None
) -> list[Finding]:
    """Bursts per (event class, broker) in the frame `event_counts(events, freq)` returns.

    Intervals without events are zeros, over [start, end] when given (the window) so the
    baseline sees the quiet time too. Findings are named `log:<event class>` (what
    app.correlate.observe expects of log bursts); before = baseline events per interval,
    after = the burst's peak count.
    """
    findings: list[Finding] = []
    if counts.empty:
        return findings
    frame = counts.assign(broker=counts["broker"].astype("object").where(counts["broker"].notna(), None))
    for (event_class, broker), group in frame.groupby(["event_class", "broker"], dropna=False, sort=True):
        series = group.groupby("ts")["count"].sum().astype(float).sort_index()
        first = pd.Timestamp(start).floor(freq) if start is not None else series.index[0]
        last = pd.Timestamp(end).floor(freq) if end is not None else series.index[-1]
        series = series.reindex(
            pd.date_range(min(first, series.index[0]), max(last, series.index[-1]), freq=freq), fill_value=0.0
        )
        for burst in detectors.bursts(series):
            findings.append(
                Finding(
                    signal=f"log:{event_class}",
                    broker=None if broker is None or pd.isna(broker) else str(broker),
                    kind="burst",
                    at=_when(burst.start),
                    end=_when(burst.end),
                    before=float(burst.baseline),
                    after=float(burst.peak),
                    direction="up",
                    score=float(burst.score),
                    detail=f"count={burst.count}",
                )
            )
    return findings


def _when(label: object) -> datetime:
    return utc(pd.Timestamp(label).to_pydatetime(warn=False))


def _with_measure(detail: str, measure: str) -> str:
    """Say when before/after are not plain levels (a counter's rate, a lag's slope)."""
    if measure in ("level", "state"):
        return detail
    return f"{detail};measure={measure}" if detail else f"measure={measure}"


def event_counts(events: list[LogEvent], freq: str = "15s") -> pd.DataFrame:
    """Counts per (event_class, broker) per interval; the input of burst detection."""
    rows = [(e.ts, e.event_class, e.broker or e.source_broker) for e in events if e.ts is not None]
    if not rows:
        return pd.DataFrame(columns=["ts", "event_class", "broker", "count"])
    frame = pd.DataFrame(rows, columns=["ts", "event_class", "broker"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.floor(freq)
    return frame.groupby(["ts", "event_class", "broker"], dropna=False).size().rename("count").reset_index()


def _label_detail(labels: str) -> str:
    try:
        parsed = json.loads(labels) if labels else {}
    except (TypeError, json.JSONDecodeError):
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(parsed.items())) if isinstance(parsed, dict) else ""
