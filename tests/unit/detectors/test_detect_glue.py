"""app.detect: frames in, Findings out (the glue the pipeline calls)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from app.detect import detect_bursts, detect_metrics, event_counts
from app.model import LogEvent
from detectors import DetectorInputError

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
