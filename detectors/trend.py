"""Piecewise-linear segmentation: regimes that are straight lines, so a change of slope is a change.

A mean-shift cost cannot see a trend turning (GDP growth stalling, a backlog that starts to
grow); it cuts a steady trend into many small steps instead, and misses the turn. Here each
regime is a least-squares line of its own (level and slope, not forced to join its
neighbours), so both a jump and a bend cost one break, and a straight trend costs none.

* segment cost: residual sum of squares of the line through the segment, O(1) from
  cumulative sums of 1, x, x^2, y, y^2 and x*y (numpy, no per-segment fit);
* search: PELT (optimal partitioning with pruning) over the segment ends, vectorised over
  the surviving candidates, so it is near-linear when there are changes to prune on;
* penalty: `penalty * scale^2 * log(n)` with `trend_scale`, a noise level measured on
  second differences (blind to any straight trend) at several block lengths (up to one
  cycle when the series repeats one, cycle_length) combined with the series' overall
  spread; the caller (changes._trend_search) then runs a second pass with the scale
  corrected by `residual_scale`, the long-run noise around the first pass's lines.
Chosen on TCPD (bench/tcpd.py, with a leave-one-out figure for the free parameters).
Known limit: strongly autocorrelated wander (AR(1) with phi >= 0.8, random walks) is cut
into local trends; the mean-shift kinds (gauge, ...) are the ones with level semantics.
Cost: PELT here is a numpy loop, ~10-15 ms per 1,000 points searched (callers block-average
long series to at most max_points first).
"""

from __future__ import annotations

import math

import numpy as np

from detectors.prepare import block_means

TREND_PENALTY = 3.0
MAX_PHI = 0.99
TREND_MIN_SIZE = 3
SCALE_BLOCKS = (1, 2, 4)
CYCLE_ACF = 0.25  # autocorrelation at one cycle's lag that makes a cycle recurring
MIN_CYCLES = 4


class LineCosts:
    """Residual sum of squares of the least-squares line through y[a:b], for arrays of a or b."""

    def __init__(self, y: np.ndarray) -> None:
        x = np.arange(len(y), dtype=float)
        x -= x.mean()  # centred: the cumulative sums stay small and the differences exact

        def cum(a: np.ndarray) -> np.ndarray:
            return np.concatenate(([0.0], np.cumsum(a)))

        self.n = cum(np.ones(len(y)))
        self.sx, self.sxx = cum(x), cum(x * x)
        self.sy, self.syy, self.sxy = cum(y), cum(y * y), cum(x * y)

    def __call__(self, a, b) -> np.ndarray:
        n = self.n[b] - self.n[a]
        sy = self.sy[b] - self.sy[a]
        sx = self.sx[b] - self.sx[a]
        cyy = self.syy[b] - self.syy[a] - sy * sy / n
        cxx = self.sxx[b] - self.sxx[a] - sx * sx / n
        cxy = self.sxy[b] - self.sxy[a] - sx * sy / n
        explained = np.divide(cxy * cxy, cxx, out=np.zeros_like(cxx, dtype=float), where=cxx > 0)
        return np.maximum(cyy - explained, 0.0)


def linear_breaks(y: np.ndarray, penalty: float, min_size: int = TREND_MIN_SIZE) -> list[int]:
    """Start positions of new regimes minimising sum(line RSS) + penalty * #breaks (PELT)."""
    n = len(y)
    if n < 2 * min_size:
        return []
    sums = LineCosts(y)
    count, sx_all, sxx_all = sums.n, sums.sx, sums.sxx
    sy_all, syy_all, sxy_all = sums.sy, sums.syy, sums.sxy
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    previous = np.zeros(n + 1, dtype=int)
    candidates = np.zeros(0, dtype=int)
    for t in range(min_size, n + 1):
        # t - min_size becomes admissible as the start of the last segment ending at t.
        start = t - min_size
        if start == 0 or start >= min_size:
            candidates = np.append(candidates, start)
        if not len(candidates):
            continue
        # LineCosts inlined with as few numpy calls as possible: this loop runs n times and
        # its cost is call overhead, not arithmetic. A one-point segment has cxx = cxy = 0.
        inverse = 1.0 / (count[t] - count[candidates])
        sx = sx_all[t] - sx_all[candidates]
        sy = sy_all[t] - sy_all[candidates]
        mean_x = sx * inverse
        cxx = np.maximum((sxx_all[t] - sxx_all[candidates]) - sx * mean_x, 1e-300)
        cxy = (sxy_all[t] - sxy_all[candidates]) - sy * mean_x
        rss = (syy_all[t] - syy_all[candidates]) - sy * sy * inverse - cxy * cxy / cxx
        fits = best[candidates] + rss
        j = int(fits.argmin())
        best[t] = fits[j] + penalty
        previous[t] = candidates[j]
        # A start that already costs more than the best segmentation can never win later.
        candidates = candidates[fits <= best[t]]
    breaks = []
    t = previous[n]
    while t > 0:
        breaks.append(int(t))
        t = previous[t]
    return breaks[::-1]


def refine_breaks(y: np.ndarray, breaks: list[int], block: int, min_size: int) -> list[int]:
    """Move breaks found on block means to the best full-resolution split within one block."""
    if block <= 1 or not breaks:
        return list(breaks)
    cost = LineCosts(y)
    refined = list(breaks)
    for i, guess in enumerate(refined):
        lo_edge = refined[i - 1] if i else 0
        hi_edge = refined[i + 1] if i + 1 < len(refined) else len(y)
        lo = max(lo_edge + min_size, guess - block)
        hi = min(hi_edge - min_size, guess + block)
        if hi <= lo:
            continue
        splits = np.arange(lo, hi + 1)
        total = cost(np.full(len(splits), lo_edge), splits) + cost(splits, np.full(len(splits), hi_edge))
        refined[i] = int(splits[int(np.argmin(total))])
    return refined


def line_gains(y: np.ndarray, breaks: list[int]) -> list[float]:
    """Cost saved by each break given its neighbours (one line over both regimes vs two)."""
    if not breaks:
        return []
    cost = LineCosts(y)
    edges = np.array([0, *breaks, len(y)])
    whole = cost(edges[:-2], edges[2:])
    left = cost(edges[:-2], edges[1:-1])
    right = cost(edges[1:-1], edges[2:])
    return [float(g) for g in whole - left - right]


def line_residuals(y: np.ndarray, breaks: list[int]) -> np.ndarray:
    """y minus the least-squares line of its regime, regime by regime."""
    out = np.zeros(len(y))
    edges = [0, *breaks, len(y)]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        segment = y[a:b]
        if len(segment) < 2:
            continue
        x = np.arange(len(segment), dtype=float)
        x -= x.mean()
        centred = segment - segment.mean()
        sxx = float(np.sum(x * x))
        out[a:b] = centred - x * (float(np.sum(x * centred)) / sxx)
    return out


def residual_scale(y: np.ndarray, breaks: list[int]) -> float:
    """Long-run noise level of y around its regime lines: sd * sqrt((1 + phi) / (1 - phi)).

    phi is the lag-1 autocorrelation of the residuals (clipped to [0, MAX_PHI]): noise that
    wanders (AR(1)-like) moves a segment mean by that factor more than white noise does, so
    it must be charged for in the penalty, or every wander becomes a regime.
    """
    residual = line_residuals(y, breaks)
    sd = float(np.std(residual))
    if not sd > 0:
        return 0.0
    centred = residual - residual.mean()
    phi = float(np.sum(centred[:-1] * centred[1:]) / np.sum(centred * centred))
    phi = min(max(phi, 0.0), MAX_PHI)
    return sd * math.sqrt((1.0 + phi) / (1.0 - phi))


def cycle_length(values: np.ndarray, min_cycles: int = MIN_CYCLES) -> int | None:
    """Length of a recurring cycle in the series (points), or None.

    The first local peak of the autocorrelation of the linearly detrended series, after the
    autocorrelation has first crossed zero, of at least CYCLE_ACF, with `min_cycles` cycles
    in the window. It need not be exact: monthly pay cycles of 28-31 days qualify.
    """
    n = len(values)
    if n < 4 * min_cycles:
        return None
    x = np.arange(n, dtype=float)
    x -= x.mean()
    y = values - values.mean()
    sxx = float(np.sum(x * x))
    residual = y - x * (float(np.sum(x * y)) / sxx if sxx > 0 else 0.0)
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(residual, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: n // min_cycles + 2]
    if not acf[0] > 0:
        return None
    acf = acf / acf[0]
    negative = np.flatnonzero(acf < 0)
    if not len(negative):
        return None
    for lag in range(int(negative[0]) + 1, len(acf) - 1):
        if acf[lag] >= CYCLE_ACF and acf[lag] >= acf[lag - 1] and acf[lag] >= acf[lag + 1]:
            return lag
    return None


def trend_scale(values: np.ndarray, cycle: int | None = None) -> float:
    """Noise level for the piecewise-linear penalty, robust to trends and level shifts.

    The MAD of second differences of block means (lengths 1, 2, 4), rescaled to one point,
    the largest over those lengths: a straight trend has no second difference, a level shift
    touches only two of them, and wandering noise grows with the block length. When the
    series repeats a cycle (cycle_length), blocks up to one cycle are used too, so the cycle
    counts as noise rather than as a string of regimes (a pay-day sawtooth is not a change);
    `cycle` defaults to cycle_length(values), callers with level shifts pass their own.
    Combined with the overall standard deviation (geometric mean) so a change must also
    stand out against the whole window, as for the mean-shift search (prepare.change_scale).
    """
    n = len(values)
    if n < 4:
        return 0.0
    blocks = set(SCALE_BLOCKS)
    if cycle is None:
        cycle = cycle_length(values)
    if cycle:
        blocks |= {2**i for i in range(int(math.log2(cycle)) + 1)}
    long_run = 0.0
    for length in sorted(blocks):
        if n // length < 8:
            break
        means = block_means(values[: n // length * length], length)
        second = np.diff(means, 2)
        typical = 1.4826 * float(np.median(np.abs(second - np.median(second))))
        long_run = max(long_run, typical * math.sqrt(length / 6.0))
    spread = float(np.std(values))
    if long_run <= 1e-12 * max(1.0, float(np.max(np.abs(values)))):
        return spread
    return math.sqrt(long_run * spread)
