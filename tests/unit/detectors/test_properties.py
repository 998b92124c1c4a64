"""Properties over many seeds: quiet on noise, on time for steps, well-formed output."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import detectors

from . import synthetic

SEEDS = range(200)


def test_white_noise_gives_no_change_points_in_at_least_95_percent_of_seeds():
    quiet = sum(not detectors.change_points(synthetic.noise(seed=seed)) for seed in SEEDS)
    assert quiet >= 0.95 * len(SEEDS), f"only {quiet}/{len(SEEDS)} noise series were quiet"


def test_white_noise_never_scores_above_the_report_threshold_in_99_percent_of_seeds():
    loud = sum(
        any(
            cp.score >= detectors.REPORT_THRESHOLD
            for cp in detectors.change_points(synthetic.noise(seed=seed))
        )
        for seed in SEEDS
    )
    assert loud <= 0.01 * len(SEEDS)


def test_autocorrelated_noise_like_prometheus_rate_is_quiet():
    # rate() over a 1-minute range at a 15 s step: a 4-point moving average of white noise.
    quiet = 0
    for seed in range(100):
        raw = synthetic.noise(n=243, seed=seed)
        smooth = raw.rolling(4).mean().dropna()
        quiet += not [cp for cp in detectors.change_points(smooth) if cp.score >= detectors.REPORT_THRESHOLD]
    assert quiet >= 95


def test_steps_of_three_sigma_are_found_within_two_points_in_95_percent_of_seeds():
    hits = 0
    for seed in SEEDS:
        series, truth = synthetic.step(jump=15.0, sigma=5.0, seed=seed)
        found = detectors.change_points(series)
        hits += any(abs(series.index.get_loc(cp.at) - series.index.get_loc(truth)) <= 2 for cp in found)
    assert hits >= 0.95 * len(SEEDS)


def test_poisson_counts_without_burst_are_quiet_in_95_percent_of_seeds():
    quiet = sum(not detectors.bursts(synthetic.counts(seed=seed)) for seed in SEEDS)
    assert quiet >= 0.95 * len(SEEDS)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-(10**6), 10**6)),
        max_size=400,
    ),
    min_size=st.integers(1, 20),
)
def test_output_is_well_formed_for_any_numeric_input(values, min_size):
    series = pd.Series(values, dtype=float)
    found = detectors.change_points(series, min_size=min_size)
    labels = [cp.at for cp in found]
    assert labels == sorted(labels) and len(set(labels)) == len(labels)
    assert all(cp.at in series.index for cp in found)
    assert all(0.0 <= cp.score <= 1.0 and cp.direction in ("up", "down") for cp in found)
    assert all(np.isfinite([cp.before, cp.after, cp.magnitude]).all() for cp in found)
    positions = [0, *[cp.position for cp in found]]
    assert all(b - a >= min_size for a, b in zip(positions, positions[1:], strict=False))
