"""Glue between tidy frames and the pure detectors: one Series per (signal, broker, labels).

The detectors know nothing about Kafka or frames; this module knows nothing about how a
change point is found. It only cuts the long metrics frame into series and turns the
detectors' typed results into `Finding`s the correlation step understands.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

import detectors
from app.model import Finding, LogEvent, utc


def series_groups(metrics: pd.DataFrame) -> Iterable[tuple[tuple[str, str | None, str], pd.Series]]:
    """Yield ((signal, broker, labels), series indexed by ts) from the long frame."""
    if metrics.empty:
        return
    frame = metrics.assign(broker=metrics["broker"].astype("object").where(metrics["broker"].notna(), None))
    for (signal, broker, labels), group in frame.groupby(["signal", "broker", "labels"], dropna=False, sort=True):
        series = pd.Series(group["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(group["ts"]))
        series = series[~series.index.duplicated(keep="last")].sort_index()
        yield (str(signal), None if broker is None or pd.isna(broker) else str(broker), str(labels)), series


def detect_metrics(metrics: pd.DataFrame, kinds: dict[str, str] | None = None) -> list[Finding]:
    """Change points for every series; `kinds` maps signal id -> detector kind."""
    kinds = kinds or {}
    findings: list[Finding] = []
    for (signal, broker, labels), series in series_groups(metrics):
        keywords = {"kind": kinds[signal]} if signal in kinds else {}
        for cp in detectors.change_points(series, **keywords):
            findings.append(
                Finding(
                    signal=signal,
                    broker=broker,
                    kind="change_point",
                    at=utc(pd.Timestamp(cp.at).to_pydatetime()),
                    before=float(cp.before),
                    after=float(cp.after),
                    direction=cp.direction if cp.direction in ("up", "down") else "none",
                    score=float(cp.score),
                    detail=_label_detail(labels),
                )
            )
    return findings


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

