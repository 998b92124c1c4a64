"""Bursts in event counts (e.g. log events of one class per 15 s) against a baseline rate.

The baseline is robust: the median count, or the mean of the quietest 75% of intervals when the
median is zero (a rare class, tested against Poisson), so a long burst does not raise its own
baseline. Each interval gets the Poisson upper-tail probability of its count under that rate;
counts that are overdispersed (variance well above the mean) widen the tail to a negative
binomial with the estimated dispersion. A burst holds at least one interval below `alpha / n`
(Bonferroni) and extends over its neighbours below `alpha`; runs separated by at most `gap`
quiet intervals merge.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from detectors.prepare import validate
from detectors.records import Burst, DetectorInputError

ALPHA = 0.01
MIN_RATE = 0.1  # events per interval assumed when the window is otherwise silent
GAP = 1


def bursts(
    counts: pd.Series, *, alpha: float = ALPHA, gap: int = GAP, min_rate: float = MIN_RATE
) -> list[Burst]:
    """Bursts in `counts` (non-negative counts per regular interval), earliest first.

    Missing intervals (NaN) are taken as zero events, as an absent log line is. `score` in
    [0, 1] grows with -log10 of the burst's smallest tail probability beyond the Bonferroni
    cut: 0.5 means a hundred times rarer than the cut.
    """
    if not 0 < alpha < 1:
        raise DetectorInputError(f"alpha must be in (0, 1), got {alpha!r}")
    clean = validate(counts, "counts")
    if not clean.index.is_monotonic_increasing:
        clean = clean.sort_index(kind="stable")
    values = np.nan_to_num(clean.to_numpy(dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    if (values < 0).any():
        first = clean.index[int(np.argmax(values < 0))]
        raise DetectorInputError(f"counts must be >= 0; found a negative count at {first!r}")
    n = len(values)
    if n == 0 or values.sum() == 0:
        return []
    rate, dispersion = _baseline(values)
    tail = _tail(values, rate, dispersion)
    cut = alpha / n
    log_tail = np.log10(np.maximum(tail, 1e-300))
    core = tail < cut
    # Hysteresis: a burst is seeded by intervals that pass the Bonferroni cut and spans the
    # neighbouring intervals that are merely unusual (tail < alpha), so its edges are right.
    out = []
    for start, stop in _merged_runs(tail < alpha, gap):
        if not core[start:stop].any():
            continue
        peak_log = float(log_tail[start:stop].min())
        excess = math.log10(cut) - peak_log
        out.append(
            Burst(
                start=clean.index[start],
                end=clean.index[stop - 1],
                count=int(values[start:stop].sum()),
                baseline=float(rate),
                peak=int(values[start:stop].max()),
                score=round(excess / (excess + 2.0), 4),
            )
        )
    return out


def _baseline(values: np.ndarray) -> tuple[float, float]:
    """Robust rate per interval and negative-binomial dispersion (0 = Poisson)."""
    rate = float(np.median(values))
    ordered = np.sort(values)
    if rate == 0:
        # A class absent from most intervals: its rate comes from the quietest three quarters
        # (a storm may fill a quarter of the window), and with so few events no dispersion
        # can be estimated, so the tail is Poisson.
        quiet = ordered[: max(1, int(len(values) * 0.75))]
        return max(float(quiet.mean()), MIN_RATE), 0.0
    # The top 5% is left out of the moments: bursts are short, and a burst inside the
    # baseline would widen the tail enough to hide itself.
    lower = ordered[: max(1, int(len(values) * 0.95))]
    rate = max(rate, MIN_RATE)
    variance = float(lower.var())
    dispersion = max(0.0, (variance - rate) / rate**2) if len(lower) > 4 else 0.0
    return rate, dispersion


def _tail(values: np.ndarray, rate: float, dispersion: float) -> np.ndarray:
    """P(X >= count) under Poisson(rate) or NB(mean=rate, dispersion)."""
    from scipy import stats  # imported here: scipy.stats is a large import most diagnoses never need

    if dispersion <= 1e-9:
        return stats.poisson.sf(values - 1, rate)
    size = 1.0 / dispersion
    return stats.nbinom.sf(values - 1, size, size / (size + rate))


def _merged_runs(mask: np.ndarray, gap: int) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    merged: list[tuple[int, int]] = []
    for start, stop in runs:
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged
