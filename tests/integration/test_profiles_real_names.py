"""The `jmx_raw` profile checked against the real JMX exporter's default names (no rules).

One extra single-node KRaft broker is started with the JMX exporter java agent and a config
with no rules, and its /metrics page is read: every jmx_raw signal's metric names, with the
fixed label matchers its query uses (e.g. name="UnderReplicatedPartitions"), must be there.
(The jmx_kafka profile is proven through Prometheus in test_sources_live.py; Strimzi's config is
not run here.)
"""

from __future__ import annotations

import re
import socket
import subprocess
import time

import pytest
import requests

from app.signals import load_library

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def raw_scrape(tmp_path_factory, real_stack):
    from stack.install import artifacts

    art = artifacts()
    root = tmp_path_factory.mktemp("raw-broker")
    kafka, controller, jmx = _free_port(), _free_port(), _free_port()
    (root / "exporter.yml").write_text("lowercaseOutputName: false\n")  # no rules: default names
    (root / "server.properties").write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{kafka},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{kafka}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={root / 'data'}",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "num.network.threads=1",
                "num.io.threads=1",
                "",
            ]
        )
    )
    classpath = f"{art.kafka_lib}/*"
    cluster_id = "bGVucy1yYXctcHJvZmlsZQ"  # 16 bytes, base64url: any fixed id will do
    subprocess.run(
        [
            "java",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(root / "server.properties"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    log = open(root / "broker.out", "w")
    proc = subprocess.Popen(
        [
            "java",
            "-Xmx256m",
            f"-Dkafka.logs.dir={root / 'logs'}",
            f"-javaagent:{art.jmx_agent}=127.0.0.1:{jmx}:{root / 'exporter.yml'}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(root / "server.properties"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        text = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the extra broker exited; see {root / 'broker.out'}"
            try:
                text = requests.get(f"http://127.0.0.1:{jmx}/metrics", timeout=10).text
            except requests.RequestException:
                text = ""
            if "ReplicaManager" in text and "raft" in text and "RequestMetrics" in text:
                _produce_and_consume(f"127.0.0.1:{kafka}")  # per-request meters appear on first use
                text = requests.get(f"http://127.0.0.1:{jmx}/metrics", timeout=10).text
                break
            time.sleep(2)
        assert "ReplicaManager" in text, (
            f"no Kafka metrics on the exporter after 180 s; see {root / 'broker.out'}"
        )
        yield text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _produce_and_consume(bootstrap: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks=1)
    producer.send("lens-raw-profile", b"hello").get(timeout=60)
    producer.close()
    consumer = KafkaConsumer(
        "lens-raw-profile",
        bootstrap_servers=[bootstrap],
        group_id="lens-raw-profile",
        auto_offset_reset="earliest",
        consumer_timeout_ms=30000,
    )
    next(iter(consumer))
    consumer.close()


def _samples(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?", line)
            if match:
                out.setdefault(match.group(1), []).append(match.group(2) or "")
    return out


def test_every_jmx_raw_signal_reads_names_the_exporter_really_has(raw_scrape):
    lib = load_library()
    profile = lib.profile("jmx_raw")
    samples = _samples(raw_scrape)
    missing = []
    for signal in lib.in_profile("jmx_raw"):
        if signal.scope == "group" or signal.id == "broker_up":
            continue  # the lag exporter's and Prometheus's own series, not the JMX exporter's
        template = signal.template(profile)
        if 'request="FetchFollower"' in template and "RequestsPerSec" in template:
            # A request meter appears on first use, and a single node has no follower to fetch:
            # check the same name and labels on the consumer fetches it does serve.
            template = template.replace('request="FetchFollower"', 'request="FetchConsumer"')
        # Each alternative of an `or` may be absent (e.g. a meter older Kafka lacks); one must be there.
        found_any = False
        for part in template.split(" or "):
            names = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", part)
            ok = True
            for name, inner in names:
                fixed = re.findall(r'[a-zA-Z_][a-zA-Z0-9_]*="[^"$]+"', inner)
                if not any(all(m in labels for m in fixed) for labels in samples.get(name, [])):
                    ok = False
            found_any = found_any or ok
        if not found_any:
            missing.append(f"{signal.id}: {template}")
    assert missing == [], "jmx_raw queries naming series the exporter does not have:\n" + "\n".join(missing)
