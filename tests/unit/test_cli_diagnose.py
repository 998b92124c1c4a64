import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.model import Incident
from tests.synthetic_bundle import make_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("b") / "synthetic_broker_down")


def test_diagnose_json_is_a_valid_incident(bundle, capsys):
    assert main(["diagnose", "--bundle", str(bundle), "--format", "json"]) == 0
    incident = Incident.from_json(capsys.readouterr().out)
    assert incident.status == "incident"
    assert incident.started_at is not None
    ids = {e.id for e in incident.evidence}
    for hypothesis in incident.hypotheses:
        assert set(hypothesis.evidence) <= ids


def test_diagnose_runs_as_a_module(bundle):
    out = subprocess.run(
        [sys.executable, "-m", "app", "diagnose", "--bundle", str(bundle), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cluster"] == "synthetic"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "yesterday"], "cannot read time"),
        (["--from", "2026-11-01T12:10:00Z", "--to", "2026-11-01T12:00:00Z"], "swap"),
        (["--broker", "9"], "known brokers: 1, 2, 3"),
    ],
)
def test_bad_input_exits_non_zero_with_a_reason(bundle, capsys, extra, message):
    assert main(["diagnose", "--bundle", str(bundle), *extra]) == 2
    assert message in capsys.readouterr().err


def test_unknown_bundle_path(capsys, tmp_path):
    assert main(["diagnose", "--bundle", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_unknown_format_version_is_rejected(bundle, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["diagnose", "--bundle", str(copy)]) == 2
    assert "format version 99 is not supported" in capsys.readouterr().err
