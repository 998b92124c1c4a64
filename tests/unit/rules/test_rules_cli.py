from __future__ import annotations

from pathlib import Path

import yaml

from app.cli import main
from tests.synthetic_bundle import make_bundle


def test_generate_check_passes_on_the_committed_tree(capsys):
    assert main(["rules", "generate", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_for_incident_writes_rules_and_their_test(tmp_path: Path, capsys):
    bundle = make_bundle(tmp_path / "b")
    out = tmp_path / "out"
    assert main(["rules", "for-incident", "--bundle", str(bundle), "--out", str(out)]) == 0
    rules = yaml.safe_load((out / "incident.rules.yml").read_text())
    assert rules["groups"][0]["rules"]
    assert (out / "incident.rules.test.yml").exists()
    assert "promtool: check and unit test passed" in capsys.readouterr().err


def test_rules_without_an_action_is_a_usage_error(capsys):
    assert main(["rules"]) == 2
    assert "rules generate" in capsys.readouterr().err


def test_bad_window_is_a_usage_error(tmp_path: Path, capsys):
    bundle = make_bundle(tmp_path / "b")
    assert main(["rules", "--bundle", str(bundle), "--from", "yesterday-ish"]) == 2
    assert "error:" in capsys.readouterr().err


def test_bare_rules_with_a_bundle_prints_the_incident_rules(tmp_path: Path, capsys):
    bundle = make_bundle(tmp_path / "b")
    assert main(["rules", "--bundle", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "KafkaIncidentUnderReplicatedPartitions" in out
    assert yaml.safe_load(out)["groups"]


def test_generate_a_deployable_copy_with_hosted_runbook_links(tmp_path: Path):
    from app.rules import promtool

    base = "https://wiki.example.com/kafka/runbook.md"
    assert main(["rules", "generate", "--out", str(tmp_path), "--runbook-base", base]) == 0
    rules = yaml.safe_load((tmp_path / "recording_rules" / "kafka.rules.yml").read_text())
    urls = [r["annotations"]["runbook_url"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert urls and all(u.startswith(base + "#kafka") for u in urls)
    result = promtool.test_rules(tmp_path / "recording_rules" / "tests" / "kafka.rules.test.yml")
    assert result.ok, result.output
    assert (tmp_path / "grafana" / "dashboards" / "kil-replication.json").exists()


def test_runbook_base_must_be_a_url(tmp_path: Path, capsys):
    assert main(["rules", "generate", "--out", str(tmp_path), "--runbook-base", "runbook.md"]) == 2
    assert "http(s) URL" in capsys.readouterr().err
