"""Change points: where a signal entered a new regime, how much it moved, how sure we are.

Method (one fixed configuration, measured on TCPD and on the recorded scenarios, see
bench/tcpd.py and bench/scenarios.py):

* the signal is cleaned (prepare.py), counters become rates, lag becomes its slope
  (a stalled consumer shows as lag starting to *grow*), event counts are variance
  stabilised (Anscombe), and a strong daily/weekly pattern is removed (seasonal.py);
* long series are averaged in blocks down to at most `max_points`, so the search stays
  near-linear in the series length; each break is then refined at full resolution;
* kind "trend" (the default, for a series of unknown kind, measured on TCPD): regimes are
  straight lines (trend.py: own O(1) line cost, PELT, a noise scale on second differences
  that treats a recurring cycle as noise), so a change of slope is a change and a straight
  trend is none; its scores skip the step-only damping below;
* every other kind: ruptures' KernelCPD with a linear kernel (the L2 mean-shift cost, with
  its C-coded PELT search) finds the optimal segmentation for the penalty
  `penalty * sigma^2 * log(n)`, sigma a noise scale robust to level shifts and to
  autocorrelation (prepare.change_scale);
* a break's score is 1 - penalty / gain (gain: the cost saved by that one break),
  damped when the change is small relative to the signal's level, when one straight line
  fits the two regimes better than a step (a drift), and when the window holds too little
  of the first regime to call it a baseline.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import ruptures as rpt

from detectors.prepare import KINDS, block_means, change_scale, noise_sigma, prepare
from detectors.records import ChangePoint, DetectorInputError
from detectors.seasonal import deseasonalise
from detectors.trend import (
    TREND_PENALTY,
    cycle_length,
    line_gains,
    linear_breaks,
    refine_breaks,
    residual_scale,
    trend_scale,
)

PENALTY = 3.0
MIN_SIZE = 3
# A level that should sit at a baseline (URP, offline partitions) is news even for one scrape
# (slow_follower: URP on the leaders blips to 2-4 for single scrapes).
MIN_SIZE_BY_KIND = {"level": 1}
MAX_POINTS = 1000
MIN_RELATIVE = 0.1
# Latencies and rates move by factors in incidents and wander by tens of percent when healthy
# (JMX quantile reservoirs, rate() over a short range); levels and gauges move by less.
MIN_RELATIVE_BY_KIND = {"latency": 0.5, "rate": 0.25, "counter": 0.25}
MIN_JUMP = 0.7
OUTLIER_NOISE = 16.0  # a point this many noise units off its neighbourhood median is replaced
# Regimes as lines: one wild point would otherwise be a regime of its own (a line bends to
# it); measured on TCPD, where 16 left outlier pairs in well_log.
OUTLIER_NOISE_TREND = 5.0
TREND_PASSES = 2  # the second pass rescales the penalty by the noise around the first's lines
TRANSIENT_POINTS = 6  # a regime this short that returns to where it came from is a blip
TRANSIENT_FACTOR = 0.5
BASELINE_SHARE = 0.1  # a first regime shorter than this share of the window lowers the score


def change_points(
    series: pd.Series,
    *,
    kind: str = "trend",
    penalty: float | None = None,
    min_size: int | None = None,
    max_points: int = MAX_POINTS,
    period: float | None = None,
    seasonal: bool = True,
    min_relative: float | None = None,
    min_jump: float = MIN_JUMP,
) -> list[ChangePoint]:
    """Change points of `series`, earliest first.

    kind: "trend" (default: any series; regimes are straight lines, so a jump or a change
        of slope is a change), "gauge" | "level" | "rate" (the value itself, regimes are
        levels), "latency" (its logarithm), "counter" (a monotone counter; its per-second
        increase is analysed, resets handled), "lag" (consumer lag; its slope is analysed),
        "count" (event counts per interval), "state" (a discrete value: every change of
        value, score 1).
    penalty: multiplier of sigma^2 * log(n); larger means fewer, surer change points
        (default 3 for every kind).
    min_size: fewest points in a regime (default 3; 1 for kind "level").
    max_points: longer series are block-averaged to this many points for the search.
    period: seasonal period in seconds (default: daily, plus weekly over two weeks);
        only used with a DatetimeIndex spanning two periods; `seasonal=False` disables it.
    min_relative: changes smaller than this fraction of the level get a damped score
        (default per kind: 0.5 latency, 0.25 rate/counter, 0.1 otherwise).
    min_jump: a regime must differ from its neighbour by at least this many standard
        deviations of the whole (analysed) series; weaker breaks are dropped. It keeps slow
        trends and drifts from being cut into many small steps (mean-shift kinds only).

    NaN, inf, gaps, duplicate or unsorted labels, constant and very short series are
    accepted and give [] when nothing can be said. A non-Series input or non-numeric
    values raise DetectorInputError (a ValueError) saying what to pass instead.
    """
    if min_size is None:
        min_size = MIN_SIZE_BY_KIND.get(kind, MIN_SIZE)
    if penalty is None:
        penalty = TREND_PENALTY if kind == "trend" else PENALTY
    _check_keywords(kind, penalty, min_size, max_points)
    prepared = prepare(series, kind="counter" if kind == "counter" else "gauge")
    if kind == "state":
        return _state_changes(prepared.values, prepared.labels)
    values, labels, seconds = prepared.values, prepared.labels, prepared.seconds
    measure = prepared.measure
    if kind == "lag":
        values, labels, seconds = _slope(values, labels, seconds)
        measure = "slope"
    if len(values) < 2 * min_size or len(values) < 4:
        return []
    if seasonal and seconds is not None:
        # Levels are reported without the daily cycle: "before" is the deseasonalised mean.
        values = deseasonalise(
            values, seconds, period, segment=lambda y: _search(y, penalty, 2, max_points, min_jump)[0]
        )
    signal = values
    if kind == "count":
        signal = 2.0 * np.sqrt(np.clip(signal, 0, None) + 0.375)
    elif kind == "latency":
        # Latencies move by factors; the log keeps one slow request from dwarfing a doubling.
        floor = max(float(np.median(np.abs(signal))) * 1e-3, 1e-9)
        signal = np.log(np.clip(signal, 0, None) + floor)

    if min_relative is None:
        min_relative = MIN_RELATIVE_BY_KIND.get(kind, MIN_RELATIVE)
    if kind == "trend":
        signal = _clip_outliers(signal, OUTLIER_NOISE_TREND)
        breaks, gains, pen = _trend_search(signal, penalty, min_size, max_points)
    else:
        if kind != "level":
            signal = _clip_outliers(signal, OUTLIER_NOISE)
        breaks, gains, pen = _search(signal, penalty, min_size, max_points, min_jump)
    out = []
    edges = [0, *breaks, len(values)]
    for i, split in enumerate(breaks):
        before = _mean(values[edges[i] : split])
        after = _mean(values[split : edges[i + 2]])
        at = split if kind == "trend" else _onset(signal, edges[i], split, edges[i + 2])
        jump = after - before
        if jump == 0 and kind != "trend":
            continue
        confidence = max(0.0, 1.0 - pen / gains[i]) if gains[i] > 0 else 0.0
        level = max(abs(before), abs(after))
        relative = abs(jump) / level if level > 0 else 1.0
        if min_relative > 0 and relative < min_relative:
            confidence *= relative / min_relative
        if kind != "trend":
            # For the trend kind a bend (a drift starting, stopping or turning) is the change.
            confidence *= _step_not_drift(signal[edges[i] : split], signal[split : edges[i + 2]])
            confidence *= _steady(signal[edges[i] : split])
        if i == 0:
            # The window cut the first regime short: with little "before" there is no baseline.
            confidence *= min(1.0, split / max(min_size, BASELINE_SHARE * len(values)))
        if kind not in ("level", "trend") and (
            _transient(signal, edges, i + 1) or (i > 0 and _transient(signal, edges, i))
        ):
            confidence *= TRANSIENT_FACTOR
        out.append(
            ChangePoint(
                at=labels[at],
                before=before,
                after=after,
                direction="up" if jump >= 0 else "down",
                magnitude=abs(jump),
                score=round(float(confidence), 4),
                position=int(at),
                measure=measure,
            )
        )
    return out


def _clip_outliers(signal: np.ndarray, limit: float) -> np.ndarray:
    """Replace isolated wild points (a backlog drained in one scrape) before the search.

    A Hampel filter: a point further than `limit` robust noise units from the median of its
    5-point neighbourhood takes that median. One huge point otherwise dominates the
    series' spread, and with it the penalty and the minimum jump, hiding the real
    regimes. Runs of three or more points (a regime of min_size) and ramps are kept,
    since their neighbourhood median moves with them; levels are exempt (the caller).
    """
    if len(signal) < 8:
        return signal
    local = pd.Series(signal).rolling(5, center=True, min_periods=1).median().to_numpy()
    noise = noise_sigma(signal)
    if not (np.isfinite(noise) and noise > 0):
        return signal
    with np.errstate(over="ignore"):  # values near 1e308: an infinite distance is wild
        wild = np.abs(signal - local) > limit * noise
    return np.where(wild, local, signal) if wild.any() else signal


def _transient(signal: np.ndarray, edges: list[int], k: int) -> bool:
    """Is segment k (between edges[k] and edges[k+1]) a short excursion that came back?

    A consumer catching up a backlog dips lag growth for 15 s; a rate blips for one
    scrape window. That is an anomaly, not a new regime (levels such as URP are exempt:
    the caller skips them, since two scrapes of URP > 0 are news).
    """
    if k <= 0 or k + 1 >= len(edges) - 1:
        return False
    start, stop = edges[k], edges[k + 1]
    if stop - start > TRANSIENT_POINTS:
        return False
    before = float(np.mean(signal[edges[k - 1] : start]))
    inside = float(np.mean(signal[start:stop]))
    after = float(np.mean(signal[stop : edges[k + 2]]))
    return abs(after - before) < 0.5 * abs(inside - before)


def _onset(signal: np.ndarray, start: int, split: int, stop: int) -> int:
    """Move a break back over points that already belong to the new level.

    Walks back while the points are more than half-way (and 3 noise units) towards the new
    level. Walking further, to the foot of a smoothed ramp (rate() over a range), was tried:
    it changed no scenario timing on the recorded bundles and cost 0.03 F1 on TCPD.
    """
    left = signal[start:split]
    if len(left) < 4:
        return split
    level = float(np.median(left))
    jump = float(np.median(signal[split:stop])) - level
    noise = noise_sigma(left)
    threshold = max(3.0 * noise, 0.5 * abs(jump))
    if jump == 0 or not np.isfinite(threshold):
        return split
    direction = 1.0 if jump > 0 else -1.0
    at = split
    while at - 1 > start + 1 and direction * (signal[at - 1] - level) > threshold:
        at -= 1
    return at


def _step_not_drift(left: np.ndarray, right: np.ndarray) -> float:
    """1 for a step; less when one straight line fits the two regimes better than two levels.

    A slow drift (a decaying latency reservoir, CPU settling after start-up) cut in two looks
    like a step to a mean-shift cost; a real regime change does not fit a line.
    """
    both = np.concatenate([left, right])
    if len(both) < 4:
        return 1.0
    centre = float(np.median(both))
    scale = float(np.max(np.abs(both - centre)))
    if not (np.isfinite(scale) and scale > 0):
        return 1.0
    left, right, both = (left - centre) / scale, (right - centre) / scale, (both - centre) / scale
    step_sse = float(((left - left.mean()) ** 2).sum() + ((right - right.mean()) ** 2).sum())
    line_sse = _line_sse(both)
    if step_sse <= 0 or line_sse >= step_sse:
        return 1.0
    return line_sse / step_sse


def _steady(before: np.ndarray) -> float:
    """1 when the regime before the break was steady; less when it was itself a strong trend.

    A change "from" a ramp (start-up settling, a reservoir decaying) has no baseline to
    differ from. Damped only when a line explains more than half of that regime's variance.
    """
    if len(before) < 6:
        return 1.0
    centre = float(np.median(before))
    scale = float(np.max(np.abs(before - centre)))
    if not (np.isfinite(scale) and scale > 0):
        return 1.0
    y = (before - centre) / scale
    flat_sse = float(((y - y.mean()) ** 2).sum())
    line_sse = _line_sse(y)
    return 1.0 if flat_sse <= 0 else min(1.0, 2.0 * line_sse / flat_sse)


def _line_sse(y: np.ndarray) -> float:
    """Residual sum of squares of the least-squares line through y (closed form, O(n))."""
    x = np.arange(len(y), dtype=float)
    x -= x.mean()
    yc = y - y.mean()
    # Plain sums, not BLAS dot products: on a busy 2-core box BLAS threads cost milliseconds.
    sxx = float(np.sum(x * x))
    sxy = float(np.sum(x * yc))
    return max(0.0, float(np.sum(yc * yc)) - (sxy**2 / sxx if sxx > 0 else 0.0))


def _mean(values: np.ndarray) -> float:
    """Mean that cannot overflow for values near the float limit."""
    big = float(np.max(np.abs(values)))
    return float(np.mean(values / big) * big) if big > 1e300 else float(np.mean(values))


def _check_keywords(kind: str, penalty: float, min_size: int, max_points: int) -> None:
    if kind not in KINDS:
        raise DetectorInputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if not (isinstance(penalty, int | float) and math.isfinite(penalty) and penalty > 0):
        raise DetectorInputError(f"penalty must be a positive number, got {penalty!r}")
    if not (isinstance(min_size, int) and min_size >= 1):
        raise DetectorInputError(f"min_size must be an integer >= 1, got {min_size!r}")
    if not (isinstance(max_points, int) and max_points >= 50):
        raise DetectorInputError(f"max_points must be an integer >= 50, got {max_points!r}")


def _state_changes(values: np.ndarray, labels: pd.Index) -> list[ChangePoint]:
    """Every change of a discrete value is certain: no noise model, score 1."""
    if len(values) < 2:
        return []
    changed = np.flatnonzero(np.diff(values) != 0) + 1
    return [
        ChangePoint(
            at=labels[i],
            before=float(values[i - 1]),
            after=float(values[i]),
            direction="up" if values[i] > values[i - 1] else "down",
            magnitude=abs(float(values[i] - values[i - 1])),
            score=1.0,
            position=int(i),
            measure="state",
        )
        for i in changed
    ]


def _slope(values: np.ndarray, labels: pd.Index, seconds: np.ndarray | None):
    if len(values) < 2:
        return values[:0], labels[:0], None if seconds is None else seconds[:0]
    step = np.diff(values)
    if seconds is not None:
        dt = np.diff(seconds)
        step = np.where(dt > 0, step / np.where(dt > 0, dt, 1.0), 0.0)
    return step, labels[1:], None if seconds is None else seconds[1:]


def _search(signal: np.ndarray, penalty: float, min_size: int, max_points: int, min_jump: float = 0.0):
    """Breaks (start positions of new regimes, full resolution), their gains, the penalty."""
    n = len(signal)
    # Work in units of the series' own range: the penalty is scale-free, and values near
    # 1e300 or 1e-300 then neither overflow nor vanish below the float tolerances.
    centre = float(np.median(signal))
    spread = float(np.max(np.abs(signal - centre)))
    if not (np.isfinite(spread) and spread > 0):
        return [], [], 0.0
    signal = (signal - centre) / spread
    block = max(1, math.ceil(n / max_points))
    coarse = block_means(signal, block)
    sigma = change_scale(coarse)
    if not sigma > 0:
        return [], [], 0.0
    size = max(2, math.ceil(min_size / block)) if block > 1 else min_size
    if len(coarse) < 2 * size:
        return [], [], 0.0
    # Standardise so the penalty is in units of noise variance and float error cannot bite.
    scaled = (coarse - np.median(coarse)) / sigma
    pen = penalty * math.log(len(coarse))
    ends = rpt.KernelCPD(kernel="linear", min_size=size, jump=1).fit(scaled).predict(pen=pen)
    coarse_breaks = [int(e) for e in ends[:-1]]
    if min_jump > 0:
        coarse_breaks = _prune(coarse, coarse_breaks, min_jump * float(np.std(signal)))
    gains = _gains(scaled, coarse_breaks)
    if block == 1:
        return coarse_breaks, gains, pen
    return _refine(signal, [b * block for b in coarse_breaks], block, min_size), gains, pen


def _trend_search(signal: np.ndarray, penalty: float, min_size: int, max_points: int):
    """Breaks between straight-line regimes (trend.py), their gains and the penalty.

    Same units as _search: the signal in units of its own range, block-averaged down to
    max_points for the search, penalty * trend_scale^2 * log(points searched).
    """
    n = len(signal)
    centre = float(np.median(signal))
    spread = float(np.max(np.abs(signal - centre)))
    if not (np.isfinite(spread) and spread > 0):
        return [], [], 0.0
    block = max(1, math.ceil(n / max_points))
    unit = (signal - centre) / spread
    coarse = block_means(unit, block)
    size = max(2, math.ceil(min_size / block)) if block > 1 else min_size
    if len(coarse) < 2 * size:
        return [], [], 0.0
    # A cycle is looked for with the level shifts taken out (they would swamp the
    # autocorrelation): the mean-shift search's regimes are subtracted first.
    steps = _search(coarse, PENALTY, MIN_SIZE, max_points, MIN_JUMP)[0]
    edges = [0, *steps, len(coarse)]
    levels = np.concatenate(
        [np.full(b - a, coarse[a:b].mean()) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    )
    sigma = trend_scale(coarse, cycle_length(coarse - levels) or 0)
    if not sigma > 0:
        return [], [], 0.0
    # Two passes: the first, with a noise scale measured blind (trend_scale), gives regime
    # lines; the long-run noise around those lines (residual_scale: its spread and
    # autocorrelation) then sets the scale of the final pass, as a geometric mean with the
    # first scale so that neither a perfect fit nor one wandering stretch decides alone.
    pen = penalty * math.log(len(coarse))
    breaks = linear_breaks(coarse / sigma, pen, size)
    residual = residual_scale(coarse, breaks) if TREND_PASSES > 1 else 0.0
    if residual <= 1e-9 * sigma:
        residual = 0.0  # float rounding around exact lines, not noise
    if residual > 0:
        sigma = math.sqrt(residual * sigma)
        breaks = linear_breaks(coarse / sigma, pen, size)
    scaled = coarse / sigma
    gains = line_gains(scaled, breaks)
    if residual == 0 and TREND_PASSES > 1 and size >= 3:
        # Every regime is an exact line (noise-free data): each break is certain.
        gains = [math.inf if g > 0 else g for g in gains]
    if block == 1:
        return breaks, gains, pen
    return refine_breaks(unit, [b * block for b in breaks], block, min_size), gains, pen


def _prune(x: np.ndarray, breaks: list[int], smallest: float) -> list[int]:
    """Keep the breaks whose neighbouring segment means (optimal segmentation) differ enough.

    One pass, not weakest-first merging: measured on TCPD, merging lets a slow trend's
    small steps fuse into larger, still spurious ones (F1 0.692 vs 0.713).
    """
    edges = [0, *breaks, len(x)]
    means = [float(x[a:b].mean()) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    jumps = np.abs(np.diff(means))
    return [b for b, jump in zip(breaks, jumps, strict=True) if jump >= smallest]


def _gains(x: np.ndarray, breaks: list[int]) -> list[float]:
    """Cost saved by each break given its neighbours (L2 cost)."""
    edges = [0, *breaks, len(x)]
    out = []
    for i in range(1, len(edges) - 1):
        left, right = x[edges[i - 1] : edges[i]], x[edges[i] : edges[i + 1]]
        n1, n2 = len(left), len(right)
        out.append(n1 * n2 / (n1 + n2) * float(left.mean() - right.mean()) ** 2)
    return out


def _refine(signal: np.ndarray, breaks: list[int], block: int, min_size: int) -> list[int]:
    """Move each block-level break to the best full-resolution split near it."""
    refined = list(breaks)
    for i, guess in enumerate(refined):
        lo_edge = refined[i - 1] if i else 0
        hi_edge = refined[i + 1] if i + 1 < len(refined) else len(signal)
        lo = max(lo_edge + min_size, guess - block)
        hi = min(hi_edge - min_size, guess + block)
        if hi <= lo:
            continue
        segment = signal[lo_edge:hi_edge]
        total = np.cumsum(segment)
        n = len(segment)
        candidates = np.arange(lo - lo_edge, hi - lo_edge + 1)
        left_sum = total[candidates - 1]
        right_sum = total[-1] - left_sum
        n1 = candidates.astype(float)
        n2 = n - n1
        gain = left_sum**2 / n1 + right_sum**2 / n2
        refined[i] = int(lo_edge + candidates[int(np.argmax(gain))])
    return refined
