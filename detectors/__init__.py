"""Skeleton placeholder: replaced by the detectors package (issue 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import ruptures as rpt

REPORT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ChangePoint:
    at: Any
    before: float
    after: float
    direction: str
    magnitude: float
    score: float


def change_points(series: pd.Series, **keywords) -> list[ChangePoint]:
    values = series.dropna()
    if len(values) < 10:
        return []
    signal = values.to_numpy(dtype=float)
    noise = np.median(np.abs(np.diff(signal))) * 1.4826 or 1e-9
    breaks = rpt.Pelt(model="l2", min_size=3).fit(signal).predict(pen=10 * noise**2 * np.log(len(signal)))
    out, start = [], 0
    for end, nxt in zip(breaks[:-1], breaks[1:], strict=False):
        before, after = float(signal[start:end].mean()), float(signal[end:nxt].mean())
        jump = after - before
        out.append(ChangePoint(values.index[end], before, after, "up" if jump > 0 else "down", abs(jump),
                               float(min(1.0, abs(jump) / (5 * noise)))))
        start = end
    return out
