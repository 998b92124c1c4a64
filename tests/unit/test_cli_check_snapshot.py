import json

from app.bundle import read_bundle
from app.cli import main
from tests.synthetic_bundle import make_bundle
from tests.unit.scripted_http import ScriptedServer
from tests.unit.test_source_prometheus import healthy


def test_check_prints_what_it_found(capsys, monkeypatch):
    monkeypatch.delenv("LOKI_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with ScriptedServer(healthy) as server:
        assert main(["check", "--prometheus", server.url, "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["prometheus"]["profile"] == "jmx_kafka"
    assert found["prometheus"]["brokers"] == ["1", "2", "3"]
    assert found["prometheus"]["version"] == "2.42.0"
    assert found["queries_sent"] == {"prometheus": 4}  # names, series, targets, buildinfo


def test_check_fails_with_exit_1_and_the_reason(capsys):
    with ScriptedServer(
        lambda m, p, q: (503, {"status": "error", "error": "down for maintenance"}, {})
    ) as server:
        assert main(["check", "--prometheus", server.url, "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert "check failed" in err and "down for maintenance" in err


def test_check_without_a_url_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    assert main(["check"]) == 2
    assert "--prometheus" in capsys.readouterr().err


def test_snapshot_of_one_window_writes_a_readable_bundle(tmp_path, capsys):
    source = str(make_bundle(tmp_path / "synthetic_broker_down"))
    out = tmp_path / "snap"
    assert (
        main(
            [
                "snapshot",
                "--bundle",
                source,
                "--from",
                "2026-11-01T12:05:00Z",
                "--to",
                "2026-11-01T12:10:00Z",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    bundle = read_bundle(out)
    assert bundle.manifest.window.start.isoformat().startswith("2026-11-01T12:05")
    assert len(bundle.metrics) > 0
    assert bundle.metrics["ts"].min() >= bundle.manifest.window.start


def test_snapshot_needs_exactly_one_destination(tmp_path, capsys):
    source = str(make_bundle(tmp_path / "synthetic_broker_down"))
    assert main(["snapshot", "--bundle", source]) == 2
    assert main(["snapshot", "--bundle", source, "--dataset", str(tmp_path / "dataset")]) == 2
    assert "--every" in capsys.readouterr().err
