"""The live sources against the real stack (Kafka, Prometheus, Loki started by the test setup).

Proves: the profile and labels are detected; every library signal's PromQL runs and returns
data; a Loki window of more than 5,000 lines comes back complete; the admin view matches
`kafka-topics --describe`; `check` and periodic `snapshot` work end to end.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests

from app.logql import LogLabels, selector
from app.model import Window
from app.signals import load_library
from app.snapshots import read_dataset, read_state, run_due
from app.sources.live import LiveSource
from app.sources.loki import LokiClient, entries_frame

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:8]
TOPIC = f"lens-sources-{RUN}"
GROUP = f"lens-sources-{RUN}"
PRODUCED, CONSUMED = 3000, 1000


@pytest.fixture(scope="module")
def stack(real_stack):
    """The real stack from tests/conftest.py (reused when healthy, else started for the session)."""
    return real_stack


@pytest.fixture(scope="module")
def traffic(stack):
    """A topic with RF 3, messages in it, and a consumer group that read only part of them."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    servers = stack.bootstrap_servers.split(",")
    admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=15000)
    admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=3)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    for i in range(PRODUCED):
        producer.send(TOPIC, key=str(i % 3).encode(), value=f"message {i}".encode())
    producer.flush(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        TOPIC,
        bootstrap_servers=servers,
        group_id=GROUP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=100,
        consumer_timeout_ms=20000,
    )
    read = 0
    while read < CONSUMED:
        batch = consumer.poll(timeout_ms=2000, max_records=min(100, CONSUMED - read))
        read += sum(len(v) for v in batch.values())
    consumer.commit()
    consumer.close()
    yield {"topic": TOPIC, "group": GROUP, "lag": PRODUCED - CONSUMED, "at": datetime.now(UTC)}
    # Leave no lagging group behind: other tests on this stack would see its lag as a symptom.
    admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=15000)
    try:
        admin.delete_groups([GROUP])
        admin.delete_topics([TOPIC])
    finally:
        admin.close()


def _source(stack, **kw) -> LiveSource:
    return LiveSource(
        stack.prometheus_url, loki_url=stack.loki_url, bootstrap_servers=stack.bootstrap_servers, **kw
    )


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")


def test_profile_broker_and_cluster_labels_are_detected(stack):
    source = _source(stack)
    layout = source.layout()
    assert layout.profile == "jmx_kafka"
    assert layout.coverage["jmx_kafka"] > layout.coverage["strimzi"] > 0
    assert layout.labels.broker_label == "broker"
    assert layout.labels.cluster_label == "cluster"
    assert source.cluster() == stack.cluster
    assert source.brokers() == [str(b) for b in stack.broker_ids]
    assert layout.scrape_interval > 0


def test_every_library_signal_runs_and_returns_data(stack, traffic):
    source = _source(stack)
    source.layout()
    # Wait until the lag exporter has seen the group (it polls every few seconds).
    _wait(
        lambda: _instant(stack, f'kafka_consumergroup_lag{{consumergroup="{GROUP}"}}'),
        90,
        "lag for the group",
    )
    time.sleep(15)  # a few scrapes after the traffic, so rates have two points
    now = datetime.now(UTC)
    window = Window(traffic["at"] - timedelta(minutes=5), now)
    before = dict(source.queries_sent())
    result = source.metrics(window)
    sent = source.queries_sent()["prometheus"] - before["prometheus"]
    signals = load_library().in_profile("jmx_kafka")
    print(
        f"\nlive metrics pull: {sent} Prometheus queries for {len(signals)} signals, "
        f"step {result.step_seconds:g}s, "
        f"{len(result.frame)} samples"
    )
    assert sent == len(signals)  # one query per signal, all brokers at once
    missing = sorted({s.id for s in signals if not s.sparse} - set(result.frame["signal"]))
    assert missing == [], f"signals without data on the real stack: {missing}; report: {result.reports}"
    # Sparse signals (samples only around an event) may be empty, but their query must not be rejected.
    assert result.reports[0].status == "ok", result.reports[0].message
    urp = result.frame[result.frame["signal"] == "under_replicated_partitions"]
    assert sorted(urp["broker"].unique()) == [str(b) for b in stack.broker_ids]
    lag = result.frame[
        (result.frame["signal"] == "consumer_lag_sum") & result.frame["labels"].str.contains(GROUP)
    ]
    assert lag["value"].iloc[-1] == traffic["lag"]
    msgs = result.frame[result.frame["signal"] == "messages_in_rate"]
    assert msgs["value"].max() > 0
    assert (result.frame[result.frame["signal"] == "active_controller_count"]["value"].iloc[-1]) == 1


def test_a_broker_subset_is_one_query_with_an_escaped_matcher(stack):
    source = _source(stack)
    lib = load_library()
    query = lib.signal("broker_up").render(
        lib.profile(source.layout().profile), source.layout().labels, source.layout().cluster, ["2"]
    )
    assert 'broker="2"' in query
    assert [s.labels["broker"] for s in source.prometheus.query(query)] == ["2"]


def test_loki_window_with_more_than_5000_lines_comes_back_complete(stack):
    # 12,000 lines in two streams, three lines per nanosecond, pushed to the real Loki three hours
    # back (away from anyone's "now"): page boundaries must cut through same-timestamp groups.
    base = time.time_ns() - 3 * 3600 * 10**9
    streams = []
    for name in ("a", "b"):
        values = [[str(base + (i // 3) * 1000), f"{name} line {i}"] for i in range(6000)]
        streams.append({"stream": {"job": "lens-sources-test", "run": RUN, "part": name}, "values": values})
    response = requests.post(f"{stack.loki_url}/loki/api/v1/push", json={"streams": streams}, timeout=30)
    assert response.status_code == 204, response.text
    window = Window(
        datetime.fromtimestamp(base / 1e9, UTC) - timedelta(seconds=1),
        datetime.fromtimestamp(base / 1e9, UTC) + timedelta(seconds=1),
    )
    # Asking for more per page than the server allows: the client drops to the server's limit.
    client = LokiClient(stack.loki_url, timeout=30, page_limit=6000)
    logql = selector(LogLabels(broker_label="run"), brokers=[RUN])
    entries = _wait(
        lambda: (lambda e: e if len(e[0]) >= 12000 else None)(client.query_range(logql, window)),
        60,
        "12,000 pushed lines to be queryable",
    )
    lines, truncated, note = entries
    frame = entries_frame(lines, LogLabels(broker_label="run"))
    assert len(frame) == 12000 and not truncated and note == ""
    assert not frame.duplicated(["ts", "labels", "line"]).any()
    assert client.queries_sent >= 3
    assert client.page_limit == 5000  # learnt from the real Loki's 400 answer


def test_kafka_logs_match_lokis_own_count(stack):
    source = _source(stack)
    now = datetime.now(UTC) - timedelta(seconds=30)  # let the shipper catch up
    window = Window(now - timedelta(minutes=20), now)
    result = source.logs(window)
    assert result.reports[0].status in ("ok", "partial")
    seconds = int(window.seconds)
    count = requests.get(
        f"{stack.loki_url}/loki/api/v1/query",
        params={
            "query": f'sum(count_over_time({{cluster="{stack.cluster}", broker=~".+"}}[{seconds}s]))',
            "time": str(int(window.end.timestamp() * 1e9)),
            "limit": "10",
        },
        timeout=30,
    ).json()
    expected = int(float(count["data"]["result"][0]["value"][1]))
    print(
        f"\nkafka log lines in 20 min: {len(result.frame)} (Loki counts {expected}); "
        f"Loki queries so far {source.queries_sent()['loki']}"
    )
    # count_over_time's range is left-open, our window closed: allow the boundary nanosecond.
    assert abs(len(result.frame) - expected) <= 3
    assert set(result.frame["broker"].dropna()) <= {str(b) for b in stack.broker_ids}


def _topic_command_classpath() -> str:
    """Kafka's jars plus kafka-tools (TopicCommand), fetched from Maven Central once if missing."""
    from stack import config
    from stack.install import artifacts

    lib = artifacts().kafka_lib
    if any(lib.glob("kafka-tools-[0-9]*.jar")):
        return f"{lib}/*"
    tools = config.cache_dir() / f"kafka-tools-{config.KAFKA_VERSION}"
    if not any(tools.glob("kafka-tools-[0-9]*.jar")):
        subprocess.run(
            [
                "mvn",
                "-q",
                "dependency:copy",
                f"-Dartifact=org.apache.kafka:kafka-tools:{config.KAFKA_VERSION}",
                f"-DoutputDirectory={tools}",
            ],
            check=True,
            timeout=300,
            capture_output=True,
        )
    return f"{lib}/*:{tools}/*"


def test_admin_view_matches_kafka_topics_describe(stack, traffic):
    source = _source(stack)
    view = source.admin_view()
    assert [b.id for b in view.brokers] == [str(b) for b in stack.broker_ids]
    assert view.controller in {str(b) for b in stack.broker_ids}
    cli = subprocess.run(
        [
            "java",
            "-cp",
            _topic_command_classpath(),
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            stack.bootstrap_servers,
            "--describe",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    described = {}
    pattern = (
        r"Topic:\s*(\S+)\s+Partition:\s*(\d+)\s+Leader:\s*(-?\d+|none)\s+"
        r"Replicas:\s*([\d,]+)\s+Isr:\s*([\d,]*)"
    )
    for match in re.finditer(pattern, cli.stdout):
        topic, part, leader, replicas, isr = match.groups()
        described[(topic, int(part))] = (
            -1 if leader == "none" else int(leader),
            [int(r) for r in replicas.split(",")],
            sorted(int(r) for r in isr.split(",") if r),
        )
    ours = {(p.topic, p.partition): (p.leader, p.replicas, sorted(p.isr)) for p in view.partitions}
    assert (TOPIC, 0) in described and len(described) >= 3
    assert ours == described  # every topic and partition: leader, replicas, ISR
    assert view.under_replicated() == [] and view.offline() == []
    assert view.lagging_groups().get(GROUP) == traffic["lag"]


def test_check_command_reports_what_it_found(stack):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "check",
            "--prometheus",
            stack.prometheus_url,
            "--loki",
            stack.loki_url,
            "--kafka",
            stack.bootstrap_servers,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["prometheus"]["profile"] == "jmx_kafka"
    assert found["prometheus"]["brokers"] == [str(b) for b in stack.broker_ids]
    assert found["prometheus"]["version"].startswith("2.")
    assert "broker" in found["loki"]["labels"]
    assert found["kafka"]["brokers"] == [str(b) for b in stack.broker_ids]
    from stack import config

    assert config.KAFKA_VERSION.startswith(found["kafka"]["version"])  # "4.3" for 4.3.1
    bad = subprocess.run(
        [sys.executable, "-m", "app", "check", "--prometheus", "http://127.0.0.1:9", "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert bad.returncode == 1
    assert "check failed" in bad.stderr and "127.0.0.1:9" in bad.stderr


def test_periodic_snapshot_over_two_intervals_and_a_restart(stack, tmp_path):
    dataset = tmp_path / "dataset"
    every = timedelta(minutes=1)
    # The windows below reach 4 minutes back: wait until the brokers have been scraped that long.
    _wait(
        lambda: (
            _instant(stack, 'min(time() - process_start_time_seconds{job="kafka"}) > 250')
            and _instant(stack, 'min(count_over_time(up{job="kafka"}[4m])) > 40')
        ),
        300,
        "4 minutes of broker metrics",
    )
    now = datetime.now(UTC)
    first = run_due(_source(stack), dataset, every, now=now - timedelta(minutes=3), delay=timedelta(0))
    assert len(first) == 1
    # A fresh source and the same directory stand for a restarted process.
    second = run_due(_source(stack), dataset, every, now=now - timedelta(minutes=1), delay=timedelta(0))
    assert len(second) == 2
    assert second[0].window.start == first[0].window.end  # no gap
    again = run_due(_source(stack), dataset, every, now=now - timedelta(minutes=1), delay=timedelta(0))
    assert again == []  # no duplicate
    # The CLI's --once form (cron / systemd timer) continues the same dataset up to the real clock.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "snapshot",
            "--prometheus",
            stack.prometheus_url,
            "--loki",
            stack.loki_url,
            "--dataset",
            str(dataset),
            "--every",
            "1",
            "--once",
            "--delay",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    state_end = datetime.fromisoformat(read_state(dataset)["last_end"].replace("Z", "+00:00"))
    assert state_end > second[-1].window.end
    metrics = read_dataset(dataset, "metrics")
    assert not metrics.duplicated(["ts", "signal", "broker", "labels"]).any()
    minutes = sorted(pd.to_datetime(metrics["ts"], utc=True).dt.floor("1min").unique())
    expected = pd.date_range(first[0].window.start, state_end - every, freq="1min", tz="UTC")
    assert list(minutes) == list(expected)  # every interval present, none twice
    assert {"1", "2", "3"} <= set(metrics["broker"])
    assert sorted(p.name for p in (dataset / "metrics").iterdir())[0].startswith("date=")
    logs = read_dataset(dataset, "logs")
    assert len(logs) > 0


def _instant(stack, query: str):
    data = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10).json()
    return data["data"]["result"]


def test_stream_catalog_selects_each_log_file_on_the_real_loki(stack):
    from app.logql import load_streams

    catalog = load_streams()
    client = LokiClient(stack.loki_url, timeout=30)
    now = datetime.now(UTC)
    window = Window(now - timedelta(minutes=30), now)
    for family in ("server", "controller", "gc"):
        entries, _, _ = client.query_range(
            catalog.selector(family, cluster=stack.cluster, brokers=["1"]), window
        )
        assert entries, f"no {family} lines for broker 1"
        files = {dict(e.labels)["filename"].rsplit("/", 1)[-1] for e in entries}
        assert files == set(catalog.files[family])
        assert {dict(e.labels)["broker"] for e in entries} == {"1"}


def test_without_the_broker_label_instances_map_to_broker_ids(stack):
    # As if the scrape config had no `broker` label: the app-info metric names give the mapping.
    source = _source(stack, broker_label="instance")
    layout = source.layout()
    assert layout.labels.broker_label == "instance"
    assert sorted(layout.labels.instance_map) == [str(b) for b in stack.broker_ids]
    assert source.brokers() == [str(b) for b in stack.broker_ids]
    now = datetime.now(UTC)
    result = source.metrics(Window(now - timedelta(minutes=5), now), signals=["broker_up", "leader_count"])
    assert result.reports[0].status == "ok"
    assert sorted(result.frame["broker"].unique()) == [str(b) for b in stack.broker_ids]


def test_one_window_snapshot_is_a_bundle_the_app_can_diagnose(stack, tmp_path):
    from app.bundle import read_bundle

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    out = tmp_path / "snap"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "snapshot",
            "--prometheus",
            stack.prometheus_url,
            "--loki",
            stack.loki_url,
            "--from",
            "now-5m",
            "--to",
            "now",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "requests sent: prometheus" in done.stderr
    bundle = read_bundle(out)
    assert bundle.manifest.profile == "jmx_kafka"
    assert bundle.manifest.brokers == [str(b) for b in stack.broker_ids]
    expected = {s.id for s in load_library().in_profile("jmx_kafka") if not s.sparse and s.scope != "group"}
    assert expected <= set(bundle.metrics["signal"])
    assert len(bundle.logs) > 0 and set(bundle.logs["broker"].dropna()) <= {str(b) for b in stack.broker_ids}
    diag = subprocess.run(
        [sys.executable, "-m", "app", "diagnose", "--bundle", str(out), "--format", "json", "--no-llm"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert diag.returncode == 0, diag.stderr
    assert json.loads(diag.stdout)["brokers"] == [str(b) for b in stack.broker_ids]
