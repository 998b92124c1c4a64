"""The piecewise-linear ("trend") path, the default kind: seeded signals with known truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import detectors
from detectors.trend import (
    LineCosts,
    cycle_length,
    line_gains,
    linear_breaks,
    refine_breaks,
    residual_scale,
    trend_scale,
)

SEEDS = range(40)


def _index(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2026-11-01", periods=n, freq="15s", tz="UTC")


def positions(series: pd.Series, found) -> list[int]:
    return [series.index.get_loc(cp.at) for cp in found]


def test_line_cost_is_the_residual_sum_of_squares_of_the_least_squares_line():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1, 60).cumsum()
    cost = LineCosts(y)
    for a, b in [(0, 60), (5, 9), (10, 47), (58, 60)]:
        x = np.arange(a, b)
        fit = np.polyval(np.polyfit(x, y[a:b], 1), x)
        assert cost(np.array([a]), np.array([b]))[0] == pytest.approx(((y[a:b] - fit) ** 2).sum(), abs=1e-8)


def _exhaustive(y: np.ndarray, penalty: float, min_size: int) -> float:
    """Optimal partitioning without pruning: the reference PELT must reach."""
    cost = LineCosts(y)
    n = len(y)
    best = [0.0] + [math.inf] * n
    for t in range(min_size, n + 1):
        for s in range(0, t - min_size + 1):
            if s != 0 and s < min_size:
                continue
            best[t] = min(
                best[t], best[s] + float(cost(np.array([s]), np.array([t]))[0]) + (penalty if s else 0)
            )
    return best[n]


@pytest.mark.parametrize("seed", range(6))
def test_pruned_search_reaches_the_exhaustive_optimum(seed):
    rng = np.random.default_rng(seed)
    y = np.concatenate(
        [rng.normal(0, 1, 20), 0.5 * np.arange(15) + rng.normal(0, 1, 15), rng.normal(4, 1, 25)]
    )
    penalty, min_size = 6.0, 3
    breaks = linear_breaks(y, penalty, min_size)
    edges = [0, *breaks, len(y)]
    cost = LineCosts(y)
    total = sum(
        float(cost(np.array([a]), np.array([b]))[0]) for a, b in zip(edges[:-1], edges[1:], strict=True)
    )
    assert all(b - a >= min_size for a, b in zip(edges[:-1], edges[1:], strict=True))
    assert total + penalty * len(breaks) == pytest.approx(_exhaustive(y, penalty, min_size), abs=1e-6)


def test_gains_are_positive_for_real_breaks_and_refinement_finds_the_exact_split():
    y = np.r_[np.zeros(50), 5.0 + np.arange(50)]  # a jump and a new slope at 50
    assert linear_breaks(y, 1.0) == [50]
    assert line_gains(y, [50])[0] > 100
    assert refine_breaks(y, [48], block=4, min_size=3) == [50]


def test_noise_scale_ignores_a_straight_trend_and_level_shifts():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 400)
    trended = noise + 0.5 * np.arange(400)
    shifted = noise + np.where(np.arange(400) >= 200, 30.0, 0.0)
    # The second-difference part is unchanged by the trend; the spread part grows with it, by design.
    assert trend_scale(trended) ** 2 / np.std(trended) == pytest.approx(
        trend_scale(noise) ** 2 / np.std(noise), rel=0.05
    )
    assert trend_scale(shifted) ** 2 / np.std(shifted) == pytest.approx(
        trend_scale(noise) ** 2 / np.std(noise), rel=0.1
    )


def test_a_noisy_straight_trend_gives_no_change_point_in_95_percent_of_seeds():
    quiet = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        values = 100 + 0.4 * np.arange(240) + rng.normal(0, 5, 240)
        quiet += not detectors.change_points(pd.Series(values, index=_index(240)))
    assert quiet >= 0.95 * len(SEEDS)


def test_a_slope_change_is_found_within_six_points_in_85_percent_of_seeds():
    # A bend of 1.5 units per point in noise of 5 cannot be placed exactly: +-6 points.
    hits = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        t = np.arange(240)
        values = 100 + np.where(t >= 140, 1.5 * (t - 140), 0.0) + rng.normal(0, 5, 240)
        series = pd.Series(values, index=_index(240))
        found = detectors.change_points(series)
        hits += len(found) == 1 and abs(positions(series, found)[0] - 140) <= 6
    assert hits >= 0.85 * len(SEEDS)


def test_the_mean_shift_gauge_path_does_not_place_a_slope_change_so_well():
    # Guards the test above: the slope change is found because regimes are lines.
    exact = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        t = np.arange(240)
        values = 100 + np.where(t >= 140, 1.5 * (t - 140), 0.0) + rng.normal(0, 5, 240)
        series = pd.Series(values, index=_index(240))
        found = detectors.change_points(series, kind="gauge")
        exact += len(found) == 1 and abs(positions(series, found)[0] - 140) <= 6
    assert exact < 0.5 * len(SEEDS)


def test_a_trend_reversal_is_one_change_with_a_clear_score():
    rng = np.random.default_rng(7)
    t = np.arange(300)
    values = np.where(t < 180, 0.5 * t, 90 - 0.8 * (t - 180)) + rng.normal(0, 3, 300)
    series = pd.Series(values, index=_index(300))
    found = detectors.change_points(series)
    assert [abs(p - 180) <= 3 for p in positions(series, found)] == [True]
    assert found[0].score >= detectors.REPORT_THRESHOLD and found[0].measure == "level"


def test_a_jump_on_a_steady_trend_is_found_at_the_jump():
    hits = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        values = 0.3 * np.arange(240) + rng.normal(0, 2, 240)
        values[150:] += 15
        series = pd.Series(values, index=_index(240))
        found = detectors.change_points(series)
        hits += positions(series, found) in ([149], [150], [151])
    assert hits >= 0.9 * len(SEEDS)


def test_trend_is_a_kind_and_the_default():
    assert "trend" in detectors.KINDS
    rng = np.random.default_rng(1)
    series = pd.Series(np.r_[rng.normal(0, 1, 100), rng.normal(6, 1, 100)])
    assert detectors.change_points(series) == detectors.change_points(series, kind="trend")


def _pay_cycle(seed: int, n: int = 600) -> np.ndarray:
    """A balance that jumps on pay day every 28-31 points and is spent down in between."""
    rng = np.random.default_rng(seed)
    values: list[float] = []
    while len(values) < n:
        values += list(100 - 2 * np.arange(int(rng.integers(28, 32))))
    return np.array(values[:n]) + rng.normal(0, 2, n)


def test_an_irregular_cycle_is_recognised():
    assert cycle_length(_pay_cycle(0)) in range(28, 32)
    assert cycle_length(np.random.default_rng(0).normal(0, 1, 600)) is None


def test_a_recurring_cycle_is_not_a_string_of_regime_changes():
    quiet = sum(not detectors.change_points(pd.Series(_pay_cycle(seed))) for seed in range(20))
    assert quiet >= 19


def test_a_level_shift_inside_a_cycle_is_still_found_alone():
    hits = 0
    for seed in range(20):
        values = _pay_cycle(seed)
        values[350:] += 120
        found = detectors.change_points(pd.Series(values))
        hits += [abs(cp.at - 350) <= 3 for cp in found] == [True]
    assert hits >= 19


def _ar1(phi: float, n: int, seed: int) -> np.ndarray:
    shocks = np.random.default_rng(seed).normal(0, 1, n)
    out = np.empty(n)
    level = 0.0
    for i, shock in enumerate(shocks):
        level = phi * level + shock
        out[i] = level
    return out


def test_residual_scale_is_the_long_run_noise_around_the_lines():
    white = np.random.default_rng(1).normal(0, 1, 5000)
    assert residual_scale(white, []) == pytest.approx(np.std(white), rel=0.05)
    wander = _ar1(0.8, 5000, seed=1)  # long-run sd of AR(1): sd * sqrt((1 + phi) / (1 - phi)) = 3 sd
    assert residual_scale(wander, []) == pytest.approx(3 * np.std(wander), rel=0.1)
    # Around the right lines, a trend and a jump leave only the noise.
    t = np.arange(5000)
    assert residual_scale(white + 0.01 * t + np.where(t >= 2500, 5.0, 0.0), [2500]) == pytest.approx(
        np.std(white), rel=0.05
    )


def test_mildly_autocorrelated_noise_is_quiet_in_90_percent_of_seeds():
    # AR(1) with phi 0.5. Stronger wander (phi >= 0.8) looks like local trends to this kind;
    # the Kafka kinds (mean-shift) are the ones to use for level semantics there.
    quiet = sum(not detectors.change_points(pd.Series(_ar1(0.5, 300, seed))) for seed in SEEDS)
    assert quiet >= 0.9 * len(SEEDS)


@pytest.mark.parametrize("scale", [1.0, 1e-200, 1e200])
def test_noise_free_step_and_bend_are_certain_and_alone(scale):
    step = pd.Series(np.r_[np.zeros(50), np.ones(50)] * scale)
    (cp,) = detectors.change_points(step)
    assert (cp.at, cp.score, cp.direction) == (50, 1.0, "up")
    # Float rounding around exact lines must not pass for noise (it once made 3 breaks here).
    bend = pd.Series(np.r_[np.zeros(50), np.arange(50.0)] * scale)
    (cp,) = detectors.change_points(bend)
    assert abs(cp.at - 50) <= 1 and cp.score == 1.0


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_a_long_series_is_searched_on_block_means_and_refined_to_the_exact_point(scale):
    rng = np.random.default_rng(5)
    values = rng.normal(0, 1, 20_000)
    values[12_345:] += 3
    found = detectors.change_points(pd.Series(values * scale))
    assert [cp.at for cp in found] == [12_345]
