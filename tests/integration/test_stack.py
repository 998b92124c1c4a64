"""The real local stack: Kafka cluster shape, Prometheus series, lag exporter, Loki log shipping."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests

pytestmark = pytest.mark.integration

KAFKA_TS = re.compile(r"^\[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3})\]")
GC_TS = re.compile(r"^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{3})\+0000\]")


def eventually(check: Callable[[], object], timeout: float, what: str, every: float = 1.0):
    """Poll until `check` returns something truthy; fail naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


def prom(stack, query: str) -> list[dict]:
    r = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]


def loki(stack, query: str, limit: int = 1000, since_s: int = 3600) -> list[dict]:
    end = time.time_ns()
    params = {
        "query": query,
        "limit": limit,
        "start": end - since_s * 10**9,
        "end": end,
        "direction": "forward",
    }
    r = requests.get(f"{stack.loki_url}/loki/api/v1/query_range", params=params, timeout=15)
    r.raise_for_status()
    return r.json()["data"]["result"]


def test_cluster_has_three_brokers_and_one_active_controller(real_stack):
    assert real_stack.live_brokers() == [1, 2, 3]
    leader = real_stack.active_controller()
    assert leader in (1, 2, 3)

    def one_active():
        rows = prom(real_stack, 'kafka_controller_kafkacontroller_activecontrollercount{cluster="local"}')
        active = {r["metric"]["broker"] for r in rows if float(r["value"][1]) == 1.0}
        return active if len(rows) == 3 and len(active) == 1 else None

    active = eventually(one_active, 30, "exactly one broker with ActiveControllerCount=1 in Prometheus")
    assert active == {str(leader)}


@pytest.mark.parametrize(
    "metric",
    [
        "kafka_server_replicamanager_underreplicatedpartitions",
        "kafka_server_replicamanager_isrshrinks_total",
        "kafka_server_replicamanager_isrexpands_total",
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        "kafka_server_raft_metrics_current_state",
        "jvm_gc_collection_seconds_count",
    ],
)
def test_prometheus_has_jmx_series_for_every_broker(real_stack, metric):
    def brokers():
        found = {
            r["metric"].get("broker") for r in prom(real_stack, f'{metric}{{job="kafka",cluster="local"}}')
        }
        return found if found == {"1", "2", "3"} else None

    eventually(brokers, 30, f"{metric} from brokers 1, 2 and 3")


def test_prometheus_scrapes_every_target(real_stack):
    rows = prom(real_stack, "up")
    jobs = {(r["metric"]["job"], r["metric"].get("broker")): float(r["value"][1]) for r in rows}
    assert jobs[("kafka", "1")] == jobs[("kafka", "2")] == jobs[("kafka", "3")] == 1.0
    assert jobs[("kafka_exporter", None)] == 1.0
    assert jobs[("loki", None)] == 1.0


def test_lag_exporter_reports_the_lag_a_consumer_group_leaves(real_stack):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic, group = f"stacktest-{uuid.uuid4().hex[:8]}", f"stacktest-g-{uuid.uuid4().hex[:8]}"
    admin = real_stack.admin()
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=real_stack.bootstrap_servers, acks="all")
    for i in range(300):
        producer.send(topic, f"m{i}".encode())
    producer.flush(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=real_stack.bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=40,
    )
    consumed = 0
    deadline = time.monotonic() + 60
    while consumed < 100 and time.monotonic() < deadline:
        consumed += sum(len(v) for v in consumer.poll(timeout_ms=1000).values())
    consumer.commit()
    consumer.close()
    assert consumed >= 100
    expected_lag = 300 - consumed

    def lag_series():
        rows = prom(real_stack, f'kafka_consumergroup_lag{{consumergroup="{group}",topic="{topic}"}}')
        total = sum(float(r["value"][1]) for r in rows)
        return rows if len(rows) == 3 and total == expected_lag else None

    rows = eventually(lag_series, 40, f"kafka_consumergroup_lag summing to {expected_lag} over 3 partitions")
    assert {r["metric"]["partition"] for r in rows} == {"0", "1", "2"}
    offsets = prom(real_stack, f'sum(kafka_topic_partition_current_offset{{topic="{topic}"}})')
    assert float(offsets[0]["value"][1]) == 300
    current = prom(real_stack, f'sum(kafka_consumergroup_current_offset{{consumergroup="{group}"}})')
    assert float(current[0]["value"][1]) == consumed
    assert float(prom(real_stack, "kafka_brokers")[0]["value"][1]) == 3


@pytest.mark.parametrize("filename", ["server.log", "controller.log", "state-change.log"])
def test_loki_has_each_brokers_kafka_logs_with_labels_and_parsed_times(real_stack, filename):
    for broker in ("1", "2", "3"):
        query = f'{{cluster="local",job="kafka",broker="{broker}",filename=~`.*/{re.escape(filename)}`}}'
        streams = eventually(lambda q=query: loki(real_stack, q), 30, f"Loki lines for {query}")
        assert len(streams) == 1
        labels = streams[0]["stream"]
        assert set(labels) == {"cluster", "broker", "job", "filename"}
        assert labels["filename"] == str(real_stack.node_log_dir(int(broker)) / filename)
        values = streams[0]["values"]
        exact = 0
        for ts, line in values:
            m = KAFKA_TS.match(line)
            assert m, f"entry does not start with a Kafka timestamp: {line[:120]!r}"
            parsed = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            parsed_ns = int(parsed.timestamp()) * 10**9 + int(m.group(2)) * 10**6
            # Out-of-order lines are stamped with the stream's newest time, never earlier.
            assert int(ts) >= parsed_ns
            exact += int(ts) == parsed_ns
        assert exact >= 0.95 * len(values), f"only {exact}/{len(values)} entries carry their own timestamp"


def test_multiline_records_stay_whole_in_loki(real_stack):
    # Each broker logs its configuration as one record spanning hundreds of lines at startup.
    streams = loki(real_stack, '{job="kafka",broker="1",filename=~".*/server.log"} |= "KafkaConfig values"')
    assert streams, "the KafkaConfig dump is missing from broker 1's server.log in Loki"
    entry = streams[0]["values"][0][1]
    assert entry.count("\n") > 50
    assert "node.id = 1" in entry


def test_gc_log_lines_arrive_with_their_jvm_timestamps(real_stack):
    for broker in ("1", "2", "3"):
        query = f'{{job="kafka",broker="{broker}",filename=~".*/kafkaServer-gc.log"}} |= "Pause"'
        streams = eventually(
            lambda q=query: loki(real_stack, q), 30, f"GC pauses in Loki for broker {broker}"
        )
        ts, line = streams[0]["values"][0]
        m = GC_TS.match(line)
        assert m, line
        parsed = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        assert int(ts) >= int(parsed.timestamp()) * 10**9 + int(m.group(2)) * 10**6


def test_a_killed_node_leaves_and_rejoins(real_stack):
    node = 3
    old_pid = real_stack.node_pid(node)
    assert old_pid
    real_stack.stop_node(node, signal.SIGKILL)
    assert real_stack.node_pid(node) is None
    assert not real_stack.is_node_running(node)
    eventually(lambda: node not in real_stack.live_brokers(), 60, f"broker {node} to be fenced")

    def brokers_metric(n):
        rows = prom(real_stack, "kafka_brokers")
        return rows and float(rows[0]["value"][1]) == n

    eventually(lambda: brokers_metric(2), 30, "the lag exporter to report kafka_brokers 2")
    real_stack.start_node(node, wait=True, timeout=120)
    assert real_stack.node_pid(node) not in (None, old_pid)
    assert real_stack.live_brokers() == [1, 2, 3]
    eventually(lambda: brokers_metric(3), 30, "the lag exporter to report kafka_brokers 3 again")
    real_stack.wait_healthy(timeout=120)


def test_a_stopped_node_is_reported_hung_and_resumes(real_stack):
    node = 1
    pid = real_stack.node_pid(node)
    real_stack.stop_node(node, signal.SIGSTOP)
    try:
        assert not real_stack.is_node_running(node)
        assert real_stack.node_pid(node) == pid  # still alive, only stopped
        states = {s.name: s.state for s in real_stack.status()}
        assert states[f"kafka-{node}"] == "stopped (SIGSTOP)"
    finally:
        real_stack.resume_node(node)
    assert real_stack.is_node_running(node)
    real_stack.wait_healthy(timeout=120)
