"""Anomalies: points or short spans far from the series' own recent behaviour.

The expected value is the median of the trailing `window` points; the residual is scaled
by a robust noise level (MAD of first differences, the same estimate change_points uses),
so one spike cannot hide itself by inflating the scale. Consecutive flagged points form
one span; spans longer than `max_span` are regime changes, left to change_points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.prepare import KINDS, noise_sigma, prepare
from detectors.records import Anomaly, DetectorInputError

THRESHOLD = 6.0
WINDOW = 20
MAX_SPAN = 5


def anomalies(
    series: pd.Series,
    *,
    kind: str = "gauge",
    threshold: float = THRESHOLD,
    window: int = WINDOW,
    max_span: int = MAX_SPAN,
) -> list[Anomaly]:
    """Spans of at most `max_span` points whose robust z-score exceeds `threshold`.

    `score` in [0, 1] is 1 - threshold / peak |z| mapped so the threshold gives 0 and
    twice the threshold gives 0.5. NaN and gaps are skipped; fewer than `window` + 1
    finite points give [].
    """
    if not (isinstance(window, int) and window >= 3):
        raise DetectorInputError(f"window must be an integer >= 3, got {window!r}")
    if not threshold > 0:
        raise DetectorInputError(f"threshold must be positive, got {threshold!r}")
    if kind not in KINDS:
        raise DetectorInputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    prepared = prepare(series, kind="counter" if kind == "counter" else "gauge")
    values, labels = prepared.values, prepared.labels
    if len(values) <= window:
        return []
    # Latencies are judged on a log scale (a 10x slow request, not +10 ms); counts on sqrt.
    signal = _transform(values, kind)
    sigma = noise_sigma(signal)
    if not sigma > 0:
        return []
    rolling = pd.Series(signal).rolling(window, min_periods=window).median().shift(1).to_numpy()
    z = (signal - rolling) / sigma
    expected = _untransform(rolling, values, kind)
    flagged = np.abs(np.nan_to_num(z)) > threshold
    out = []
    for start, stop in _runs(flagged):
        if stop - start > max_span:
            continue
        peak = start + int(np.argmax(np.abs(z[start:stop])))
        strength = abs(float(z[peak])) / threshold
        out.append(
            Anomaly(
                at=labels[start],
                end=labels[stop - 1],
                value=float(values[peak]),
                expected=float(expected[peak]),
                direction="up" if z[peak] > 0 else "down",
                score=round(1.0 - 1.0 / strength, 4),
            )
        )
    return out


def _floor(values: np.ndarray) -> float:
    return max(float(np.median(np.abs(values))) * 1e-3, 1e-9)


def _transform(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "latency":
        return np.log(np.clip(values, 0, None) + _floor(values))
    if kind == "count":
        return 2.0 * np.sqrt(np.clip(values, 0, None) + 0.375)
    return values


def _untransform(signal: np.ndarray, values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "latency":
        return np.exp(signal) - _floor(values)
    if kind == "count":
        return (signal / 2.0) ** 2 - 0.375
    return signal


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
