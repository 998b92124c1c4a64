"""Seeded synthetic Kafka-like signals that carry their own truth (index labels of changes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

STEP = "15s"
START = "2026-11-01T00:00:00Z"


def _index(n: int) -> pd.DatetimeIndex:
    return pd.date_range(START, periods=n, freq=STEP)


def noise(n: int = 240, seed: int = 0, level: float = 100.0, sigma: float = 5.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(level + rng.normal(0, sigma, n), index=_index(n))


def step(n: int = 240, at: int = 150, jump: float = 20.0, sigma: float = 5.0, seed: int = 0):
    """A gauge that moves by `jump` at position `at` (e.g. bytes in when a broker drops)."""
    series = noise(n, seed, sigma=sigma)
    series.iloc[at:] += jump
    return series, series.index[at]


def broker_drop(n: int = 240, at: int = 120, seed: int = 0):
    """Messages-in rate of a broker that stops taking traffic (rate goes to ~0)."""
    rng = np.random.default_rng(seed)
    values = 5000 + rng.normal(0, 150, n)
    values[at:] = np.abs(rng.normal(0, 2, n - at))
    return pd.Series(values, index=_index(n)), _index(n)[at]


def lag_ramp(n: int = 240, at: int = 100, slope: float = 40.0, seed: int = 0):
    """Consumer lag that sits near a baseline, then grows linearly when the consumer stalls."""
    rng = np.random.default_rng(seed)
    values = 50 + rng.normal(0, 10, n)
    values[at:] += slope * np.arange(1, n - at + 1)
    return pd.Series(values, index=_index(n)), _index(n)[at]


def gc_climb(n: int = 240, at: int = 160, seed: int = 0):
    """GC time fraction that jumps from ~2% to ~25% under heap pressure."""
    rng = np.random.default_rng(seed)
    values = np.clip(0.02 + rng.normal(0, 0.005, n), 0, None)
    values[at:] = np.clip(0.25 + rng.normal(0, 0.03, n - at), 0, None)
    return pd.Series(values, index=_index(n)), _index(n)[at]


def spike(n: int = 240, at: int = 100, seed: int = 0, height: float = 80.0):
    series = noise(n, seed)
    series.iloc[at] += height
    return series, series.index[at]


def daily_with_change(days: int = 4, at_day: float = 3.25, jump: float = 15.0, seed: int = 0):
    """One sample per 5 min, a strong daily cycle (amplitude 40), and a real step late on."""
    rng = np.random.default_rng(seed)
    n = days * 288
    index = pd.date_range(START, periods=n, freq="5min")
    hours = (index - index[0]).total_seconds().to_numpy() / 3600
    values = 100 + 40 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 3, n)
    at = int(at_day * 288)
    values[at:] += jump
    return pd.Series(values, index=index), index[at]


def counts(n: int = 240, rate: float = 2.0, seed: int = 0, burst: tuple[int, int, float] | None = None):
    """Poisson event counts per interval; `burst` = (start, length, extra rate)."""
    rng = np.random.default_rng(seed)
    values = rng.poisson(rate, n).astype(float)
    if burst:
        start, length, extra = burst
        values[start : start + length] += rng.poisson(extra, length)
    return pd.Series(values, index=_index(n))
