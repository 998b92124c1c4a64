"""app.detect: frames in, Findings out (the glue the pipeline calls)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from app.detect import detect_bursts, detect_metrics, event_counts
from app.model import LogEvent
from detectors import REPORT_THRESHOLD, DetectorInputError

from . import synthetic


def long_frame(signal: str, broker: str, series: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": series.index,
            "signal": signal,
            "broker": broker,
            "labels": f'{{"broker": "{broker}"}}',
            "value": series.to_numpy(),
            "query": f"{signal}{{}}",
        }
    )


def test_findings_per_series_with_kind_and_broker():
    lag, lag_truth = synthetic.lag_ramp(seed=1)
    rate, rate_truth = synthetic.broker_drop(seed=2)
    frame = pd.concat([long_frame("consumer_lag_sum", "1", lag), long_frame("bytes_in_rate", "2", rate)])
    findings = detect_metrics(frame, kinds={"consumer_lag_sum": "lag", "bytes_in_rate": "rate"})
    by_signal = {f.signal: f for f in findings if f.score >= 0.5}
    assert by_signal["bytes_in_rate"].broker == "2" and by_signal["bytes_in_rate"].direction == "down"
    assert by_signal["bytes_in_rate"].at == rate_truth.to_pydatetime()
    assert by_signal["consumer_lag_sum"].detail == "broker=1;measure=slope"
    assert abs((by_signal["consumer_lag_sum"].at - lag_truth.to_pydatetime()).total_seconds()) <= 30
    assert all(f.at.tzinfo is not None for f in findings)


def test_unknown_kind_from_the_library_is_an_error_not_a_guess():
    series, _ = synthetic.step()
    with pytest.raises(DetectorInputError):
        detect_metrics(long_frame("x", "1", series), kinds={"x": "speedometer"})


def test_anomalies_only_when_asked():
    series, truth = synthetic.spike(seed=3)
    frame = long_frame("produce_latency_p99", "1", series)
    assert [f for f in detect_metrics(frame) if f.kind == "anomaly"] == []
    anomalies = [f for f in detect_metrics(frame, with_anomalies=True) if f.kind == "anomaly"]
    assert [f.at for f in anomalies] == [truth.to_pydatetime()]


def test_log_bursts_from_classified_events_over_the_window():
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    rng = np.random.default_rng(5)
    events = [
        LogEvent("isr_shrink", ts=start + timedelta(seconds=float(s)), source_broker="1")
        for s in rng.uniform(0, 900, 20)
    ]  # background: ~1 per 45 s
    burst_at = start + timedelta(seconds=450)
    events += [
        LogEvent("isr_shrink", ts=burst_at + timedelta(seconds=float(s)), source_broker="1")
        for s in rng.uniform(0, 30, 40)
    ]
    counts = event_counts(events, "15s")
    (finding,) = detect_bursts(counts, "15s", start, start + timedelta(seconds=900))
    assert finding.signal == "log:isr_shrink" and finding.broker == "1" and finding.kind == "burst"
    assert burst_at - timedelta(seconds=15) <= finding.at <= burst_at + timedelta(seconds=15)
    assert finding.end is not None and finding.after >= 10 and finding.before <= 1


def test_empty_inputs():
    assert detect_bursts(event_counts([], "15s")) == []
    assert detect_metrics(pd.DataFrame(columns=["ts", "signal", "broker", "labels", "value", "query"])) == []


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2026-01-01", periods=len(values), freq="5s", tz="UTC"))


def test_a_healthy_signal_getting_healthier_scores_below_the_threshold():
    """p99 flush time 13 -> 5 ms (warn 100): real, but no incident; 5 -> 40 ms is kept."""
    rng = np.random.default_rng(7)
    noise = rng.lognormal(0, 0.03, 100)
    falling = np.r_[np.full(60, 13.0), np.full(40, 5.0)] * noise
    rising = np.r_[np.full(60, 5.0), np.full(40, 40.0)] * noise
    healthy = {"flush_p99": ("up", 100.0)}
    kinds = {"flush_p99": "latency"}
    down = detect_metrics(long_frame("flush_p99", "1", _series(falling)), kinds=kinds, healthy=healthy)
    up = detect_metrics(long_frame("flush_p99", "1", _series(rising)), kinds=kinds, healthy=healthy)
    plain = detect_metrics(long_frame("flush_p99", "1", _series(falling)), kinds=kinds)
    assert [f.direction for f in down] == ["down"] and [f.direction for f in up] == ["up"]
    assert down[0].score == pytest.approx(0.5 * plain[0].score)
    assert up[0].score >= REPORT_THRESHOLD > down[0].score


def test_a_recovery_from_the_bad_side_keeps_its_score():
    """URP 4 -> 0 (warn 0) started on the bad side: a recovery the correlation needs."""
    urp = np.r_[np.full(50, 4.0), np.zeros(50)]
    healthy = {"urp": ("up", 0.0)}
    with_levels = detect_metrics(
        long_frame("urp", "1", _series(urp)), kinds={"urp": "level"}, healthy=healthy
    )
    without = detect_metrics(long_frame("urp", "1", _series(urp)), kinds={"urp": "level"})
    assert [f.score for f in with_levels] == [f.score for f in without] and with_levels


def test_a_minor_move_towards_the_warn_level_scores_down_a_large_one_does_not():
    """Flush p99 5 -> 8 ms against warn 100 is 3% of the way: minor. 5 -> 60 ms is 58%: kept."""
    kinds, healthy = {"flush_p99": "latency"}, {"flush_p99": ("up", 100.0)}
    rng = np.random.default_rng(3)
    noise = rng.lognormal(0, 0.03, 100)
    minor = _series(np.r_[np.full(60, 5.0), np.full(40, 8.0)] * noise)
    large = _series(np.r_[np.full(60, 5.0), np.full(40, 60.0)] * noise)
    plain = detect_metrics(long_frame("flush_p99", "1", minor), kinds=kinds)
    scored = detect_metrics(long_frame("flush_p99", "1", minor), kinds=kinds, healthy=healthy)
    assert scored[0].score == pytest.approx(0.5 * plain[0].score)
    kept = detect_metrics(long_frame("flush_p99", "1", large), kinds=kinds, healthy=healthy)
    assert kept[0].score == detect_metrics(long_frame("flush_p99", "1", large), kinds=kinds)[0].score


def test_a_signal_whose_bad_direction_is_down_is_mirrored():
    """Request-handler idle (bad down, warn 0.3): 0.9 -> 0.95 is healthier, 0.9 -> 0.4 is not minor."""
    kinds, healthy = {"idle": "gauge"}, {"idle": ("down", 0.3)}
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.005, 100)
    better = _series(np.r_[np.full(60, 0.9), np.full(40, 0.95)] + noise)
    worse = _series(np.r_[np.full(60, 0.9), np.full(40, 0.4)] + noise)
    for series, factor in ((better, 0.5), (worse, 1.0)):
        plain = detect_metrics(long_frame("idle", "1", series), kinds=kinds)
        scored = detect_metrics(long_frame("idle", "1", series), kinds=kinds, healthy=healthy)
        assert plain and scored[0].score == pytest.approx(factor * plain[0].score)
