"""anomalies and bursts on seeded synthetic signals with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import detectors

from . import synthetic


def test_spike_is_an_anomaly_at_its_label():
    series, truth = synthetic.spike(seed=1)
    found = detectors.anomalies(series)
    assert [a.at for a in found] == [truth]
    assert found[0].direction == "up" and found[0].score >= detectors.REPORT_THRESHOLD
    assert found[0].expected == pytest.approx(100, abs=5)


def test_a_step_is_not_an_anomaly():
    series, _ = synthetic.step(jump=60.0, seed=2)
    assert detectors.anomalies(series) == []


def test_noise_has_no_anomalies_in_most_seeds():
    quiet = sum(not detectors.anomalies(synthetic.noise(seed=seed)) for seed in range(100))
    assert quiet >= 95


def test_anomalies_on_degenerate_and_bad_input():
    assert detectors.anomalies(pd.Series(np.full(100, 3.0))) == []
    assert detectors.anomalies(pd.Series([1.0, 2.0])) == []
    with pytest.raises(ValueError, match="pandas Series"):
        detectors.anomalies([1, 2, 3])


def test_burst_found_with_its_span_and_baseline():
    counts = synthetic.counts(rate=2.0, seed=3, burst=(100, 6, 25.0))
    found = detectors.bursts(counts)
    assert len(found) == 1
    burst = found[0]
    assert abs(counts.index.get_loc(burst.start) - 100) <= 1
    assert abs(counts.index.get_loc(burst.end) - 105) <= 1
    assert burst.baseline == pytest.approx(2.0, abs=1.0)
    assert burst.peak >= 15 and burst.score >= detectors.REPORT_THRESHOLD


def test_burst_from_silence():
    counts = pd.Series(np.zeros(120))
    counts.iloc[60:63] = [4, 9, 3]
    (burst,) = detectors.bursts(counts)
    assert (burst.start, burst.end, burst.count) == (60, 62, 16)


def test_overdispersed_background_needs_a_bigger_burst():
    rng = np.random.default_rng(4)
    noisy = pd.Series(rng.negative_binomial(1, 0.2, 400).astype(float))  # mean 4, variance 20
    assert len(detectors.bursts(noisy)) <= 1


def test_bursts_reject_negative_counts_and_accept_gaps():
    with pytest.raises(ValueError, match="negative"):
        detectors.bursts(pd.Series([1.0, -2.0, 3.0]))
    assert detectors.bursts(pd.Series([np.nan] * 10)) == []
    assert detectors.bursts(pd.Series([], dtype=float)) == []


def test_latency_anomalies_are_judged_on_a_log_scale():
    rng = np.random.default_rng(6)
    values = rng.lognormal(np.log(5.0), 0.2, 200)
    values[120] = 60.0  # twelve times the usual latency
    series = pd.Series(values)
    found = detectors.anomalies(series, kind="latency")
    assert [a.at for a in found] == [120]
    assert found[0].expected == pytest.approx(5.0, rel=0.2)


def test_a_storm_filling_a_quarter_of_the_window_is_one_burst():
    rng = np.random.default_rng(7)
    counts = pd.Series(np.zeros(32))
    counts.iloc[8:16] = rng.poisson(5, 8)  # rebalances every few seconds for two minutes
    (burst,) = detectors.bursts(counts)
    assert burst.start <= 9 and burst.end >= 14 and burst.score >= detectors.REPORT_THRESHOLD
