"""`python -m app logs`: what the timeline and MCP show, from the command line, redacted."""

import json

import pandas as pd

from app.bundle import read_bundle, write_bundle
from app.cli import main
from tests.synthetic_bundle import make_bundle


def _bundle_with_unknown_lines(path):
    bundle = make_bundle(path)
    data = read_bundle(bundle)
    logs = data.logs.astype({"broker": str, "labels": str})  # bundle frames hold them as categoricals
    first = logs["ts"].min()
    for i in range(5):
        line = f"[{first:%Y-%m-%d %H:%M:%S},00{i}] WARN Frobnicator {i} lost widget password=hunter2 (x.Frob)"
        logs.loc[len(logs)] = [first, "1", json.dumps({"broker": "1"}), line]
    logs["ts"] = pd.to_datetime(logs["ts"], utc=True)
    write_bundle(bundle, data.manifest, data.metrics, logs, data.ground_truth)
    return bundle


def test_logs_prints_counts_events_and_redacted_unknown_families(tmp_path, capsys):
    bundle = _bundle_with_unknown_lines(tmp_path / "b")
    assert main(["logs", "--bundle", str(bundle), "--class", "isr_shrink", "--limit", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"isr_shrink": 2} and out["returned"] == 1 and out["truncated"] is True
    families = out["unknown_families"]
    assert families and families[0]["count"] == 5, families
    assert "hunter2" not in json.dumps(out)


def test_logs_bad_broker_is_a_usage_error(tmp_path, capsys):
    bundle = make_bundle(tmp_path / "b")
    assert main(["logs", "--bundle", str(bundle), "--broker", "9"]) == 2
    assert "known brokers: 1, 2, 3" in capsys.readouterr().err
