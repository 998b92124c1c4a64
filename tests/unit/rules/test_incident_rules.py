"""Rules fitted to one incident: thresholds from the incident's values, proven by promtool on its series."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from app import service
from app.pipeline import diagnose
from app.rules import promtool
from app.rules.incident import (
    NoRules,
    first_firing,
    minute_samples,
    rules_for_incident,
    supporting_evidence,
    verify,
)
from app.sources.bundle_source import BundleSource
from tests.synthetic_bundle import make_bundle


@pytest.fixture(scope="module")
def diagnosis(tmp_path_factory):
    path = make_bundle(tmp_path_factory.mktemp("bundle") / "broker_down")
    return diagnose(BundleSource(path))


def test_rules_from_the_incident_fire_during_it_and_not_before(diagnosis, tmp_path: Path):
    rules = rules_for_incident(diagnosis.incident, diagnosis.metrics)
    names = {a.rule.alert for a in rules.alerts}
    assert "KafkaIncidentUnderReplicatedPartitions" in names
    assert "KafkaIncidentBrokerUp" in names
    for alert in rules.alerts:
        low, high = sorted([alert.normal, alert.observed])
        assert low < alert.threshold < high
    urp = next(a for a in rules.alerts if a.signal == "under_replicated_partitions")
    assert urp.normal == 0 and urp.observed == 12 and urp.threshold == 6
    doc = yaml.safe_load(rules.rules_yaml)
    assert doc["groups"][0]["rules"][0]["labels"]["severity"] == "warning"
    (tmp_path / "incident.rules.yml").write_text(rules.rules_yaml)
    (tmp_path / "incident.rules.test.yml").write_text(rules.test_yaml)
    assert promtool.check_rules(tmp_path / "incident.rules.yml").ok
    result = promtool.test_rules(tmp_path / "incident.rules.test.yml")
    assert result.ok, result.output
    assert verify(rules) == {"ok": True, "message": "check and unit test passed"}


def test_the_generated_test_fails_when_the_threshold_is_out_of_reach(diagnosis, tmp_path: Path):
    rules = rules_for_incident(diagnosis.incident, diagnosis.metrics)
    broken = rules.rules_yaml.replace(
        "underreplicatedpartitions:sum > 6", "underreplicatedpartitions:sum > 60"
    )
    assert broken != rules.rules_yaml
    status = verify(dataclasses.replace(rules, rules_yaml=broken))
    assert status["ok"] is False
    assert "KafkaIncidentUnderReplicatedPartitions" in status["message"]


def test_margin_moves_the_threshold(diagnosis):
    low = rules_for_incident(diagnosis.incident, diagnosis.metrics, margin=0.25)
    urp = next(a for a in low.alerts if a.signal == "under_replicated_partitions")
    assert urp.threshold == 3
    with pytest.raises(ValueError, match="margin"):
        rules_for_incident(diagnosis.incident, diagnosis.metrics, margin=1.5)


def test_an_incident_without_metric_evidence_says_why(diagnosis):
    quiet = dataclasses.replace(
        diagnosis.incident, evidence=[e for e in diagnosis.incident.evidence if e.kind != "metric"]
    )
    with pytest.raises(NoRules, match="no rule could be built"):
        rules_for_incident(quiet, diagnosis.metrics)


def test_first_firing_follows_prometheus_for_semantics():
    values = [0, 5, 5, 0, 5, 5, 5, 5]
    assert first_firing(values, 1, "up", 0) == 1
    assert first_firing(values, 1, "up", 2) == 6  # the dip at 3 resets the pending timer
    assert first_firing([1, 1, None, 0, 0], 0.5, "down", 1) == 4
    assert first_firing(values, 10, "up", 0) is None


def test_minute_samples_carry_values_forward():
    import pandas as pd

    idx = pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-01T00:00:50Z", "2026-01-01T00:03:05Z"])
    series = pd.Series([1.0, 2.0, 3.0], index=idx)
    assert minute_samples(series, idx[0].to_pydatetime(), idx[-1].to_pydatetime()) == [
        1.0,
        2.0,
        2.0,
        2.0,
        3.0,
    ]


def test_only_the_evidence_of_the_leading_hypotheses_becomes_rules(diagnosis):
    from app.model import Hypothesis

    incident = diagnosis.incident
    urp = [e.id for e in incident.evidence if e.signal == "under_replicated_partitions"]
    other = [e.id for e in incident.evidence if e.signal == "broker_up"]
    ranked = dataclasses.replace(
        incident,
        hypotheses=[Hypothesis("broker_down", 0.9, evidence=urp), Hypothesis("noise", 0.1, evidence=other)],
    )
    assert {e.id for e in supporting_evidence(ranked)} == set(urp)
    rules = rules_for_incident(ranked, diagnosis.metrics)
    assert {a.signal for a in rules.alerts} == {"under_replicated_partitions"}


def test_service_returns_yaml_test_and_promtool_verdict(diagnosis):
    result = service.incident_rules(diagnosis)
    assert result["promtool"]["ok"] is True
    assert "KafkaIncidentUnderReplicatedPartitions" in result["yaml"]
    assert "alert_rule_test" in result["test_yaml"]
    quiet = dataclasses.replace(diagnosis, incident=dataclasses.replace(diagnosis.incident, evidence=[]))
    with pytest.raises(service.BadRequest, match="no rule could be built"):
        service.incident_rules(quiet)
