"""Periodic snapshots: append fixed windows of metrics and logs to a Parquet dataset.

Layout (hive partitions, readable by pyarrow.dataset / pandas / DuckDB / Spark):

    DATASET/metrics/date=YYYY-MM-DD/broker=N/<start>_<end>.parquet
    DATASET/logs/date=YYYY-MM-DD/broker=N/<start>_<end>.parquet
    DATASET/state.json     {"last_end": ISO-8601, "every_seconds": N}

Windows are half-open [start, end) and aligned to multiples of the interval, so a
restart resumes at `last_end` with neither a gap nor a duplicate; a part's file name is
a function of its window, so re-writing a window after a crash replaces, never doubles.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from app.model import Window, iso, utc
from app.sources.base import Source

UNKNOWN_BROKER = "none"  # partition value for cluster- or group-scoped rows


@dataclass(frozen=True)
class SnapshotResult:
    window: Window
    metric_rows: int
    log_rows: int
    files: list[Path]
    problems: list[str]


def aligned_windows(
    last_end: datetime | None, now: datetime, every: timedelta, delay: timedelta, max_catch_up: int = 96
) -> list[Window]:
    """Windows still to record: from `last_end` (or the last full interval) up to `now - delay`."""
    step = every.total_seconds()
    horizon = utc(now) - delay
    newest_end = datetime.fromtimestamp((horizon.timestamp() // step) * step, tz=UTC)
    start = utc(last_end) if last_end else newest_end - every
    windows = []
    while start + every <= newest_end:
        windows.append(Window(start, start + every))
        start += every
    return windows[-max_catch_up:]


def record_window(source: Source, window: Window, dataset: Path) -> SnapshotResult:
    metrics = source.metrics(window)
    logs = source.logs(window)
    # Half-open windows: a sample exactly on the end belongs to the next window.
    mframe = metrics.frame[(metrics.frame["ts"] >= window.start) & (metrics.frame["ts"] < window.end)]
    lframe = logs.frame[(logs.frame["ts"] >= window.start) & (logs.frame["ts"] < window.end)]
    files = [
        *_write_parts(mframe, dataset / "metrics", window),
        *_write_parts(lframe, dataset / "logs", window),
    ]
    problems = [
        f"{r.source}: {r.status} {r.message}".strip()
        for r in [*metrics.reports, *logs.reports]
        if r.status in ("error", "partial")
    ]
    return SnapshotResult(window, len(mframe), len(lframe), files, problems)


def run_due(
    source: Source,
    dataset: Path,
    every: timedelta,
    now: datetime | None = None,
    delay: timedelta = timedelta(minutes=1),
) -> list[SnapshotResult]:
    """Record every window that is due; the state advances only after a window's files exist."""
    dataset.mkdir(parents=True, exist_ok=True)
    state = read_state(dataset)
    if state.get("every_seconds") not in (None, every.total_seconds()):
        raise ValueError(
            f"{dataset} was recorded every {state['every_seconds']} s; "
            "keep that interval or use a new dataset"
        )
    last_end = (
        datetime.fromisoformat(state["last_end"].replace("Z", "+00:00")) if state.get("last_end") else None
    )
    results = []
    for window in aligned_windows(last_end, now or datetime.now(UTC), every, delay):
        result = record_window(source, window, dataset)
        if any(p.startswith("metrics: error") for p in result.problems):
            break  # keep the state so the next run retries this window instead of leaving a gap
        write_state(dataset, {"last_end": iso(window.end), "every_seconds": every.total_seconds()})
        results.append(result)
    return results


def read_state(dataset: Path) -> dict:
    file = dataset / "state.json"
    return json.loads(file.read_text()) if file.is_file() else {}


def write_state(dataset: Path, state: dict) -> None:
    tmp = dataset / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, dataset / "state.json")


def read_dataset(dataset: Path, kind: str = "metrics") -> pd.DataFrame:
    """The whole dataset of one kind as a frame (partition columns `date`, `broker` restored)."""
    root = dataset / kind
    if not root.is_dir():
        return pd.DataFrame()
    frame = pd.read_parquet(root)
    frame["broker"] = frame["broker"].astype(str)
    return frame


def _write_parts(frame: pd.DataFrame, root: Path, window: Window) -> list[Path]:
    if frame.empty:
        return []
    name = f"{window.start:%Y%m%dT%H%M%S}_{window.end:%Y%m%dT%H%M%S}.parquet"
    data = frame.assign(broker=frame["broker"].fillna(UNKNOWN_BROKER).astype(str))
    files = []
    for (day, broker), part in data.groupby([data["ts"].dt.strftime("%Y-%m-%d"), "broker"]):
        folder = root / f"date={day}" / f"broker={broker}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (name + ".tmp")
        part.drop(columns=["broker"]).to_parquet(tmp, index=False)
        os.replace(tmp, folder / name)
        files.append(folder / name)
    return files
