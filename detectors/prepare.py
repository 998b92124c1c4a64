"""Turn a user's pandas Series into a clean float signal: validation, gaps, counter resets.

Everything here is pure and cheap (numpy only), so detectors can call it on every series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from detectors.records import DetectorInputError

# gauge/level/rate: the value itself; latency: its logarithm (latencies move by factors);
# counter: its per-second increase; lag: its slope; count: event counts (variance-stabilised);
# state: a discrete value (up, leader id, epoch) where every change of value is a change;
# trend: any series whose regimes are straight lines (a jump or a change of slope is a change),
# the default for a series of unknown kind.
KINDS = ("gauge", "level", "rate", "latency", "counter", "lag", "count", "state", "trend")


@dataclass(frozen=True)
class Prepared:
    """Finite values in index order, the labels they came from, and seconds between points."""

    values: np.ndarray
    labels: pd.Index
    seconds: np.ndarray | None  # elapsed seconds from the first kept point, for datetime indexes
    measure: str


def validate(series: object, name: str = "series") -> pd.Series:
    """Reject what cannot be a numeric series, with a message that says what to pass instead."""
    if isinstance(series, pd.DataFrame):
        raise DetectorInputError(
            f"{name} is a DataFrame with columns {list(series.columns)[:5]}; pass one column (frame['col'])"
        )
    if not isinstance(series, pd.Series):
        raise DetectorInputError(
            f"{name} must be a pandas Series indexed by time or position, got {type(series).__name__}; "
            "wrap values with pandas.Series(values, index=timestamps)"
        )
    if series.dtype == bool:
        return series.astype(float)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        bad = series[converted.isna() & series.notna()]
        if len(bad):
            raise DetectorInputError(
                f"{name} holds non-numeric values (first: {bad.iloc[0]!r} at {bad.index[0]!r}); "
                "convert it to numbers first (pandas.to_numeric)"
            )
        series = converted
    if pd.api.types.is_complex_dtype(series.dtype):
        raise DetectorInputError(f"{name} holds complex numbers; pass real values")
    return series.astype(float)


def prepare(series: object, kind: str = "gauge", name: str = "series") -> Prepared:
    """Validated, sorted, de-duplicated, finite values; counters become per-second rates."""
    if kind not in KINDS:
        raise DetectorInputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    clean = validate(series, name)
    if not clean.index.is_monotonic_increasing:
        clean = clean.sort_index(kind="stable")
    if clean.index.has_duplicates:
        clean = clean[~clean.index.duplicated(keep="last")]
    finite = clean[np.isfinite(clean.to_numpy())]
    values = finite.to_numpy(dtype=float)
    labels = finite.index
    seconds = _seconds(labels)
    measure = "level"
    if kind == "counter":
        values, labels, seconds = _counter_rate(values, labels, seconds)
        measure = "rate"
    return Prepared(values, labels, seconds, measure)


def _seconds(index: pd.Index) -> np.ndarray | None:
    if isinstance(index, pd.DatetimeIndex) and len(index):
        return (index - index[0]).total_seconds().to_numpy(dtype=float)
    return None


def _counter_rate(
    values: np.ndarray, labels: pd.Index, seconds: np.ndarray | None
) -> tuple[np.ndarray, pd.Index, np.ndarray | None]:
    """Per-second (or per-step) increase of a monotone counter, Prometheus-style on resets.

    A drop means the process restarted and the counter began again from zero, so the
    increase over that step is the new value itself (what Prometheus' rate() assumes).
    """
    if len(values) < 2:
        return values[:0], labels[:0], None if seconds is None else seconds[:0]
    step = np.diff(values)
    reset = step < 0
    step[reset] = values[1:][reset]
    if seconds is not None:
        dt = np.diff(seconds)
        dt[dt <= 0] = np.nan
        step = step / dt
    keep = np.isfinite(step)
    return step[keep], labels[1:][keep], None if seconds is None else seconds[1:][keep]


def noise_sigma(values: np.ndarray) -> float:
    """Robust noise level from first differences: unaffected by level shifts and slow trends.

    MAD of the differences / sqrt(2) estimates the point noise of a piecewise-constant signal.
    When more than half the differences are zero (step-like or integer signals) the MAD is
    zero; the standard deviation of the differences is then used, so isolated jumps still
    count as noise rather than giving an infinitely small penalty.
    """
    if len(values) < 3:
        return 0.0
    diffs = np.diff(values)
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    sigma = 1.4826 * mad / np.sqrt(2.0)
    big = float(np.max(np.abs(values)))
    if sigma <= 1e-12 * max(1.0, big):
        # In units of the largest value: squares of values near 1e200 would overflow.
        unit = big if big > 0 else 1.0
        sigma = float(np.std(diffs / unit)) / np.sqrt(2.0) * unit
    return sigma


def change_scale(values: np.ndarray) -> float:
    """The noise scale that change-point penalties are measured in.

    Two views of "noise", combined by their geometric mean:
    * the long-run noise: MAD of differences of block means at block lengths 1, 2, 4, 8, 16,
      rescaled to one point, the largest over those lengths. Autocorrelated noise (a
      Prometheus rate() over a 1-minute window, a random walk, a slow trend) has a larger
      long-run than point-to-point noise, and must not be cut into many small regimes;
    * the overall standard deviation, which makes a change have to stand out against the
      whole window, as published default configurations effectively do.
    On white noise both equal sigma. Chosen on TCPD (see bench/tcpd.py; leave-one-out there).
    """
    n = len(values)
    if n < 3:
        return 0.0
    long_run = 0.0
    for length in (1, 2, 4, 8, 16):
        if n // length < 8:
            break
        means = block_means(values[: n // length * length], length)
        typical = 1.4826 * float(np.median(np.abs(np.diff(means))))
        long_run = max(long_run, typical * np.sqrt(length / 2.0))
    spread = float(np.std(values))
    if long_run <= 1e-12 * max(1.0, float(np.max(np.abs(values)))):
        return spread
    return float(np.sqrt(long_run * spread))


def block_means(values: np.ndarray, block: int) -> np.ndarray:
    """Means over consecutive blocks of `block` points (the last block may be shorter)."""
    if block <= 1:
        return values
    n = len(values)
    full = n // block * block
    head = values[:full].reshape(-1, block).mean(axis=1)
    if full < n:
        head = np.append(head, values[full:].mean())
    return head
