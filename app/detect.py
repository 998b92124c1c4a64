"""Glue between tidy frames and the pure detectors: one Series per (signal, broker, labels).

The detectors know nothing about Kafka or frames; this module knows nothing about how a
change point is found. It only cuts the long metrics frame into series and turns the
detectors' typed results into `Finding`s the correlation step understands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

import detectors
from app.model import Finding, LogEvent, utc

# A change that only makes a healthy signal healthier keeps this share of its score: it stays in
# the timeline but below the reporting threshold unless the detector was near certain.
IMPROVEMENT_WEIGHT = 0.5
# A move towards bad that covers less than this share of the distance to the warn level (a p99
# flush time from 5 to 8 ms against a 100 ms warn level) is real but minor in the same way.
MINOR_SHARE = 0.1


def series_groups(metrics: pd.DataFrame) -> Iterable[tuple[tuple[str, str | None, str], pd.Series]]:
    """Yield ((signal, broker, labels), series indexed by ts) from the long frame.

    In (signal, broker, labels) order, missing values last, as a sorted groupby with dropna=False
    gives them; grouped on integer codes (pandas' groupby and the broker column as objects were a
    fifth of the detect stage on a day of metrics).
    """
    if metrics.empty:
        return
    keys = np.zeros(len(metrics), dtype=np.int64)
    values = []
    for column in ("signal", "broker", "labels"):
        codes, uniques = pd.factorize(metrics[column], sort=True)
        codes = np.where(codes < 0, len(uniques), codes)  # missing last
        keys = keys * (len(uniques) + 1) + codes
        values.append([*uniques, _missing(metrics[column].dtype)])
    order = np.argsort(keys, kind="stable")  # rows of a group keep the frame's order
    sorted_keys = keys[order]
    cuts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    ts = metrics["ts"].array
    value = metrics["value"].to_numpy(dtype=float)
    n_broker, n_labels = len(values[1]), len(values[2])
    for rows in np.split(order, cuts):
        code = int(keys[rows[0]])
        code, k_labels = divmod(code, n_labels)
        k_signal, k_broker = divmod(code, n_broker)
        signal, broker, labels = values[0][k_signal], values[1][k_broker], values[2][k_labels]
        series = pd.Series(value[rows], index=pd.DatetimeIndex(ts[rows]))
        series = series[~series.index.duplicated(keep="last")].sort_index()
        yield (str(signal), None if broker is None or pd.isna(broker) else str(broker), str(labels)), series


def _healthier(level: tuple[str, float] | None, before: float, after: float) -> bool:
    """True when a change leaves a healthy signal healthy: it starts on the healthy side of
    `warn` and moves away from `bad`, or towards it by less than MINOR_SHARE of the way."""
    if level is None or not (np.isfinite(before) and np.isfinite(after)):
        return False
    bad, warn = level
    if bad == "down":  # mirror it, so that bad is up
        before, after, warn = -before, -after, -warn
    elif bad != "up":
        return False
    if before >= warn:
        return False
    return after < before or (after - before) < MINOR_SHARE * (warn - before)


def _missing(dtype: object) -> object:
    """How a sorted groupby with dropna=False names the group of missing values."""
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return getattr(dtype, "na_value", np.nan)


def detect_metrics(
    metrics: pd.DataFrame,
    kinds: dict[str, str] | None = None,
    *,
    with_anomalies: bool = False,
    healthy: dict[str, tuple[str, float]] | None = None,
) -> list[Finding]:
    """Change points (and, when asked, anomalies) for every series; `kinds`: signal id -> kind.

    Signals without a kind are taken as gauges. A kind the detectors do not know is a bug in
    the signal library, so it raises (DetectorInputError) rather than being guessed.
    `healthy`: signal id -> (bad direction, warn level) (Library.healthy_levels()). A change that
    starts on the healthy side of the warn level and moves away from bad, or towards it by under
    MINOR_SHARE of the way (a p99 flush time 13 -> 5 ms or 5 -> 8 ms, warn 100 ms), is scored
    down by IMPROVEMENT_WEIGHT: real, but not an incident.
    """
    kinds = kinds or {}
    healthy = healthy or {}
    findings: list[Finding] = []
    for (signal, broker, labels), series in series_groups(metrics):
        kind = kinds.get(signal, "gauge")
        detail = _label_detail(labels)
        for cp in detectors.change_points(series, kind=kind):
            weight = IMPROVEMENT_WEIGHT if _healthier(healthy.get(signal), cp.before, cp.after) else 1.0
            findings.append(
                Finding(
                    signal=signal,
                    broker=broker,
                    kind="change_point",
                    at=_when(cp.at),
                    before=float(cp.before),
                    after=float(cp.after),
                    direction=cp.direction if cp.direction in ("up", "down") else "none",
                    score=float(cp.score) * weight,
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
