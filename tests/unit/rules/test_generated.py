"""The committed rule files and dashboards are exactly what the generator writes, and promtool agrees."""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import yaml

from app.rules import generate, promtool
from app.rules.kafka import alerts, records
from app.rules.unittests import silent_minute
from app.signals import load_library

REPO = generate.REPO
RULES = REPO / generate.RULES_FILE
TESTS = REPO / generate.TEST_FILE
REQUIRED = {
    "KafkaUnderReplicatedPartitions",
    "KafkaUnderMinIsrPartitions",
    "KafkaOfflinePartitions",
    "KafkaActiveControllerCountNotOne",
    "KafkaControllerChurn",
    "KafkaIsrShrinkRateAboveBaseline",
    "KafkaUncleanLeaderElection",
    "KafkaBrokerMissing",
    "KafkaConsumerLagGrowing",
    "KafkaConsumerLagSecondsHigh",
    "KafkaGcTimeFractionHigh",
    "KafkaRequestHandlerIdleLow",
    "KafkaRequestLatencyAboveBaseline",
    "KafkaLogDirOffline",
}


def _rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_committed_files_match_the_generator():
    text = generate.diff()
    assert text == "", f"run `python -m app rules generate`; committed files drift:\n{text[:3000]}"


def test_generation_is_deterministic_and_sorted():
    first, second = generate.artefacts(), generate.artefacts()
    assert first == second
    for rule in _rules():
        assert list(rule) == sorted(rule), f"keys not sorted in {rule.get('record') or rule.get('alert')}"


def test_promtool_check_rules_is_clean():
    result = promtool.check_rules(RULES)
    assert result.ok, result.output
    assert "SUCCESS" in result.output


def test_promtool_unit_tests_pass():
    result = promtool.test_rules(TESTS)
    assert result.ok, result.output


def test_promtool_unit_tests_can_fail(tmp_path: Path):
    # The same tests against rules whose under-replicated threshold is unreachable must fail.
    broken = RULES.read_text().replace(
        "broker:kafka_server_replicamanager_underreplicatedpartitions:sum > 0",
        "broker:kafka_server_replicamanager_underreplicatedpartitions:sum > 1000",
    )
    assert broken != RULES.read_text()
    (tmp_path / "kafka.rules.yml").write_text(broken)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "kafka.rules.test.yml").write_text(TESTS.read_text())
    result = promtool.test_rules(tmp_path / "tests" / "kafka.rules.test.yml")
    assert not result.ok
    assert "KafkaUnderReplicatedPartitions" in result.output


def test_recording_rules_follow_the_conventions():
    text = RULES.read_text().splitlines()
    recorded = [r for r in _rules() if "record" in r]
    assert len(recorded) >= 30
    for rule in recorded:
        assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]
        expr = rule["expr"]
        assert " by (" not in expr and " by(" not in expr, f"{rule['record']} aggregates with by: {expr}"
        if re.match(r"^(sum|max|min|avg|count)\b", expr):
            assert expr.split("(")[0].strip().endswith("without"), f"{rule['record']}: {expr}"
        promql_parser.parse(expr)
    # one comment line right above every recording rule
    for i, line in enumerate(text):
        if line.strip().startswith("- expr:") and i + 1 < len(text) and "record:" in text[i + 1]:
            assert text[i - 1].strip().startswith("# "), f"no comment above line {i + 1}: {line}"


def test_rate_signals_have_adaptive_baselines():
    names = {r["record"] for r in _rules() if "record" in r}
    for rec in records():
        if rec.baseline:
            for suffix in ("avg1d", "stddev1d", "median1d"):
                assert f"{rec.record}_{suffix}" in names


def test_alerts_follow_the_conventions():
    alert_rules = [r for r in _rules() if "alert" in r]
    names = {r["alert"] for r in alert_rules}
    assert len(alert_rules) >= 12
    assert REQUIRED <= names, sorted(REQUIRED - names)
    anchors = {h.lower() for h in re.findall(r"^## (\S+)", (REPO / "docs" / "runbook.md").read_text(), re.M)}
    for rule in alert_rules:
        assert re.fullmatch(r"Kafka[A-Z][A-Za-z0-9]+", rule["alert"])
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        ann = rule["annotations"]
        assert set(ann) == {"summary", "description", "runbook_url"}
        assert "{{" not in ann["summary"]
        assert "{{" in ann["description"]
        assert ann["runbook_url"].split("#")[1] in anchors, ann["runbook_url"]
        promql_parser.parse(rule["expr"])


def test_every_alert_is_tested_on_both_sides_of_its_for():
    doc = yaml.safe_load(TESTS.read_text())
    by_alert: dict[str, list[dict]] = {}
    for test in doc["tests"]:
        for case in test["alert_rule_test"]:
            by_alert.setdefault(case["alertname"], []).append(case)
    for rule in alerts():
        cases = by_alert.get(rule.alert)
        assert cases, f"{rule.alert} has no promtool test"
        assert any(c["exp_alerts"] == [] for c in cases)
        assert any(c["exp_alerts"] for c in cases)
        for case in rule.cases:
            fire = case.onset + rule.for_minutes
            assert silent_minute(rule, case) == fire - 1
            firing = [c for c in cases if c["eval_time"] == f"{fire}m"][0]
            labels = firing["exp_alerts"][0]["exp_labels"]
            assert labels["severity"] == rule.severity


def test_recording_rules_come_from_the_library():
    library = load_library()
    profile = library.profile("jmx_kafka")
    recorded_signals = {rec.signal for rec in records()}
    # every library signal has a recording rule, so dashboards and incident rules can use any of them
    assert set(library.ids()) <= recorded_signals, sorted(set(library.ids()) - recorded_signals)
    text = RULES.read_text()
    for rec in records():
        for metric in library.signal(rec.signal).metric_names(profile):
            assert metric in text, f"{rec.signal}: metric {metric} missing from the rules"
