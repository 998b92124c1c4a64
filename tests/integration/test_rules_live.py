"""The generated rules and dashboards on the real stack's Prometheus.

Proves: Prometheus loads recording_rules/kafka.rules.yml with every rule healthy; every recording
rule produces series under load; every dashboard panel's query returns data; no Kafka alert
fires on the quiet, healthy cluster; and when a broker is killed (broker_down) KafkaBrokerMissing
for it and KafkaUnderReplicatedPartitions on the survivors go pending, then firing.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml

from app.rules import generate
from app.rules.kafka import records
from app.signals import load_library

pytestmark = pytest.mark.integration

VICTIM = 3  # preferred victim; another broker when 3 is the active controller (that is a failover)
RULES = generate.REPO / generate.RULES_FILE
# Series that only exist once the event happened (the library marks such signals `sparse`).
EVENT_ONLY: set[str] = {rec.record for rec in records() if load_library().signal(rec.signal).sparse}
QUIET_MIN_S = 120  # observe the healthy cluster at least this long before the fault
_QUIET_SINCE: list[float] = []
_KILLED_AT: list[float] = []  # when the rules were loaded on the healthy cluster


@pytest.fixture(scope="module")
def stack(real_stack):
    return real_stack


@pytest.fixture(scope="module")
def prom(stack) -> str:
    from stack import record

    warnings = stack.reload_rules()
    assert not warnings, warnings
    _QUIET_SINCE.append(time.time())
    ops = record._StackOps(stack)
    record.ensure_load(ops, warmup_s=20, log=lambda _m: None)
    record.wait_healthy(ops, timeout_s=180, log=lambda _m: None)
    return stack.prometheus_url


def _get(url: str, path: str, **params) -> dict:
    resp = requests.get(f"{url}{path}", params=params, timeout=15)
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    return body["data"]


def _query(url: str, expr: str) -> list[dict]:
    return _get(url, "/api/v1/query", query=expr)["result"]


def _wait_for(what: str, probe: Callable[[], object], timeout_s: float, every: float = 2.0) -> object:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"{what}: not seen within {timeout_s:.0f}s (last probe: {last!r})")


def _kafka_group(url: str) -> dict | None:
    for group in _get(url, "/api/v1/rules")["groups"]:
        if group["name"] == "kafka" and Path(group["file"]).resolve() == RULES.resolve():
            return group
    return None


def _alerts(url: str) -> list[dict]:
    return [a for a in _get(url, "/api/v1/alerts")["alerts"] if a["labels"]["alertname"].startswith("Kafka")]


def test_prometheus_loads_every_rule_healthy(prom):
    expected = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    group = _wait_for("the kafka rule group", lambda: _kafka_group(prom), 30)
    assert len(group["rules"]) == len(expected)
    # every rule has been evaluated once and none failed
    evaluated = _wait_for(
        "every rule evaluated",
        lambda: (
            (g := _kafka_group(prom))
            and all(
                r.get("lastEvaluation", "").startswith("2") and not r["lastEvaluation"].startswith("0001")
                for r in g["rules"]
            )
            and g
        ),
        30,
    )
    bad = [(r["name"], r.get("lastError")) for r in evaluated["rules"] if r["health"] != "ok"]
    assert not bad, bad


def test_every_recording_rule_produces_series(prom):
    records = [r["record"] for r in yaml.safe_load(RULES.read_text())["groups"][0]["rules"] if "record" in r]

    def missing() -> list[str]:
        return [r for r in records if r not in EVENT_ONLY and not _query(prom, r)]

    # rate windows and the lag exporter need a little time after load starts
    deadline = time.monotonic() + 120
    gaps = missing()
    while gaps and time.monotonic() < deadline:
        time.sleep(5)
        gaps = missing()
    assert not gaps, f"recording rules without series: {gaps}"
    urp = _query(prom, "broker:kafka_server_replicamanager_underreplicatedpartitions:sum")
    assert {s["metric"]["broker"] for s in urp} == {"1", "2", "3"}
    assert all(set(s["metric"]) == {"__name__", "broker", "cluster"} for s in urp)


def test_every_dashboard_panel_returns_data(prom, stack):
    empty = []
    for path in sorted((generate.REPO / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$cluster", stack.cluster).replace("$broker", ".*")
                if not _query(prom, expr):
                    empty.append(f"{path.stem}/{panel['title']}: {expr}")
    assert not empty, empty


def test_no_kafka_alert_fires_on_the_quiet_cluster(prom):
    # Not now, and not at any evaluation since the rules were loaded on the healthy cluster.
    firing = [a["labels"] for a in _alerts(prom) if a["state"] == "firing"]
    assert not firing, firing
    time.sleep(max(0.0, QUIET_MIN_S - (time.time() - _QUIET_SINCE[0])))
    quiet_s = int(time.time() - _QUIET_SINCE[0])
    ever = _query(prom, f'max_over_time(ALERTS{{alertstate="firing",alertname=~"Kafka.+"}}[{quiet_s}s])')
    assert not ever, [s["metric"] for s in ever]


def test_broker_down_alerts_go_pending_then_firing(prom, stack):
    global VICTIM
    controller = stack.active_controller()
    if controller is not None and int(controller) == VICTIM:
        VICTIM = next(b for b in stack.broker_ids if int(b) != int(controller))
    victim = str(VICTIM)

    def state(name: str, broker_pred: Callable[[str], bool]) -> set[str]:
        return {
            a["state"]
            for a in _alerts(prom)
            if a["labels"]["alertname"] == name and broker_pred(a["labels"].get("broker", ""))
        }

    killed = time.monotonic()
    _KILLED_AT.append(time.time())
    stack.stop_node(VICTIM, signal.SIGKILL)
    try:
        steps = [
            ("KafkaBrokerMissing", "pending", lambda b: b == victim, 60),
            ("KafkaBrokerMissing", "firing", lambda b: b == victim, 120),
            ("KafkaUnderReplicatedPartitions", "pending", lambda b: b != victim, 90),
            ("KafkaUnderReplicatedPartitions", "firing", lambda b: b != victim, 180),
        ]
        for name, wanted, which, timeout in steps:
            _wait_for(f"{name} {wanted}", lambda n=name, w=which, s=wanted: s in state(n, w), timeout, 1)
            print(f"\n{name} {wanted} {time.monotonic() - killed:.0f}s after the kill")
        firing = [
            a
            for a in _alerts(prom)
            if a["state"] == "firing" and a["labels"]["alertname"] == "KafkaBrokerMissing"
        ]
        assert firing[0]["labels"]["severity"] == "critical"
        assert firing[0]["annotations"]["runbook_url"].endswith("#kafkabrokermissing")
        assert f"Broker {victim} of cluster {stack.cluster}" in firing[0]["annotations"]["description"]
    finally:
        _KILLED_AT.append(time.time())  # end of the outage window
        stack.start_node(VICTIM, wait=True, timeout=180)
    _wait_for(
        "KafkaBrokerMissing resolved",
        lambda: not state("KafkaBrokerMissing", lambda b: b == victim) or None,
        60,
    )


def test_rules_fitted_to_the_live_incident_pass_promtool_on_its_series(prom, stack):
    """`rules for-incident` on the broker_down window just recorded, through the live sources."""
    from app import service
    from app.sources.live import LiveSource

    assert len(_KILLED_AT) == 2, "runs after the broker_down test"
    # The window an SRE would pick: quiet minutes (healthy since the fixture), then the outage up to
    # the restart. Not earlier: an earlier run's outage would be "normal" for the thresholds.
    start, end = int(max(_KILLED_AT[0] - 180, _QUIET_SINCE[0])), int(_KILLED_AT[1])
    source = LiveSource(prom, cluster=stack.cluster)
    diagnosis = service.diagnose_window(source, str(start), str(end), None)
    assert diagnosis.incident.hypotheses[0].cause == "broker_down"
    result = service.incident_rules(diagnosis)
    assert result["promtool"] == {"ok": True, "message": "check and unit test passed"}, result["promtool"]
    names = {a["alert"] for a in result["alerts"]}
    assert names & {"KafkaIncidentBrokerUp", "KafkaIncidentUnderReplicatedPartitions"}, names
    for alert in result["alerts"]:
        low, high = sorted([alert["normal"], alert["observed"]])
        assert low < alert["threshold"] < high
