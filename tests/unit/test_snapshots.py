from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from app.snapshots import aligned_windows, read_dataset, read_state, run_due
from app.sources.bundle_source import BundleSource
from tests.synthetic_bundle import make_bundle

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)


def test_windows_are_aligned_and_resume_without_gaps():
    first = aligned_windows(None, T0 + timedelta(minutes=6), EVERY, timedelta(minutes=1))
    assert [(w.start, w.end) for w in first] == [(T0, T0 + EVERY)]
    later = aligned_windows(first[-1].end, T0 + timedelta(minutes=21), EVERY, timedelta(minutes=1))
    assert [w.start for w in later] == [T0 + EVERY * k for k in (1, 2, 3)]


def test_restart_gives_neither_gaps_nor_duplicates(tmp_path):
    source = BundleSource(make_bundle(tmp_path / "bundle"))
    dataset = tmp_path / "dataset"
    run_due(source, dataset, EVERY, now=T0 + timedelta(minutes=6))
    run_due(source, dataset, EVERY, now=T0 + timedelta(minutes=11))
    # A fresh call stands for a restarted process: only the state file carries over.
    again = run_due(source, dataset, EVERY, now=T0 + timedelta(minutes=11, seconds=30))
    assert again == []
    run_due(source, dataset, EVERY, now=T0 + timedelta(minutes=16))
    assert read_state(dataset)["last_end"] == "2026-11-01T12:15:00.000Z"

    stored = read_dataset(dataset, "metrics")
    key = ["ts", "signal", "broker", "labels"]
    assert not stored.duplicated(key).any()
    frame = source.bundle.metrics
    expected = frame[(frame["ts"] >= T0) & (frame["ts"] < T0 + 3 * EVERY)]
    assert len(stored) == len(expected)
    assert sorted(stored["broker"].unique()) == ["1", "2", "3"]
    assert {p.name for p in (dataset / "metrics").iterdir()} == {"date=2026-11-01"}
    logs = read_dataset(dataset, "logs")
    assert len(logs) == len(source.bundle.logs[source.bundle.logs["ts"] < T0 + 3 * EVERY])
    assert pd.api.types.is_datetime64_any_dtype(stored["ts"])


def test_changing_the_interval_on_an_existing_dataset_is_refused(tmp_path):
    source = BundleSource(make_bundle(tmp_path / "bundle"))
    run_due(source, tmp_path / "ds", EVERY, now=T0 + timedelta(minutes=6))
    with pytest.raises(ValueError, match="keep that interval"):
        run_due(source, tmp_path / "ds", timedelta(minutes=10), now=T0 + timedelta(minutes=30))
