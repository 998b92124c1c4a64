"""Consumer-lag exporter with kafka_exporter's metric names, on kafka-python and prometheus_client.

danielqsj/kafka_exporter and kminion cannot be fetched here (the Go module proxy refuses them),
so this serves the same series the app's kafka_exporter-style queries use:

    kafka_brokers                                        live (unfenced) brokers
    kafka_broker_info{id,address}
    kafka_topic_partitions{topic}
    kafka_topic_partition_current_offset{topic,partition}   log end offset
    kafka_topic_partition_oldest_offset{topic,partition}
    kafka_topic_partition_leader{topic,partition}
    kafka_topic_partition_replicas{topic,partition}
    kafka_topic_partition_in_sync_replica{topic,partition}
    kafka_topic_partition_under_replicated_partition{topic,partition}
    kafka_consumergroup_current_offset{consumergroup,topic,partition}
    kafka_consumergroup_current_offset_sum{consumergroup,topic}
    kafka_consumergroup_lag{consumergroup,topic,partition}
    kafka_consumergroup_lag_sum{consumergroup,topic}
    kafka_consumergroup_members{consumergroup}

A background thread refreshes a snapshot every --interval seconds; scrapes serve the latest
snapshot, so a slow or half-dead cluster never makes a scrape hang. Internal topics
(__consumer_offsets, ...) are skipped like kafka_exporter's default topic filter does not, but
their series would only add noise to lag queries.

Run: python -m stack.lag_exporter --bootstrap-servers 127.0.0.1:19092 --listen 127.0.0.1:9308
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field

from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("stack.lag_exporter")


@dataclass
class Snapshot:
    brokers: list[tuple[int, str]] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    # (topic, partition) -> values
    end: dict[tuple[str, int], int] = field(default_factory=dict)
    start: dict[tuple[str, int], int] = field(default_factory=dict)
    leader: dict[tuple[str, int], int] = field(default_factory=dict)
    replicas: dict[tuple[str, int], int] = field(default_factory=dict)
    isr: dict[tuple[str, int], int] = field(default_factory=dict)
    # (group, topic, partition) -> committed offset
    committed: dict[tuple[str, str, int], int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    ok: bool = False
    took_s: float = 0.0


def lag(end: int | None, committed: int) -> int | None:
    """kafka_exporter's lag: end offset minus committed offset, never negative; unknown if no end."""
    if end is None or committed < 0:
        return None
    return max(0, end - committed)


def build_families(s: Snapshot) -> list[GaugeMetricFamily]:
    """Pure: the exposition for one snapshot."""
    tp = ["topic", "partition"]
    fam = {
        "brokers": GaugeMetricFamily("kafka_brokers", "Number of Brokers in the Kafka Cluster."),
        "broker_info": GaugeMetricFamily(
            "kafka_broker_info", "Information about the Kafka Broker.", labels=["id", "address"]
        ),
        "partitions": GaugeMetricFamily(
            "kafka_topic_partitions", "Number of partitions for this Topic", labels=["topic"]
        ),
        "current": GaugeMetricFamily(
            "kafka_topic_partition_current_offset", "Current Offset of a Broker at Topic/Partition", labels=tp
        ),
        "oldest": GaugeMetricFamily(
            "kafka_topic_partition_oldest_offset", "Oldest Offset of a Broker at Topic/Partition", labels=tp
        ),
        "leader": GaugeMetricFamily(
            "kafka_topic_partition_leader", "Leader Broker ID of this Topic/Partition", labels=tp
        ),
        "replicas": GaugeMetricFamily(
            "kafka_topic_partition_replicas", "Number of Replicas for this Topic/Partition", labels=tp
        ),
        "isr": GaugeMetricFamily(
            "kafka_topic_partition_in_sync_replica",
            "Number of In-Sync Replicas for this Topic/Partition",
            labels=tp,
        ),
        "urp": GaugeMetricFamily(
            "kafka_topic_partition_under_replicated_partition",
            "1 if Topic/Partition is under Replicated",
            labels=tp,
        ),
        "g_current": GaugeMetricFamily(
            "kafka_consumergroup_current_offset",
            "Current Offset of a ConsumerGroup at Topic/Partition",
            labels=["consumergroup", *tp],
        ),
        "g_current_sum": GaugeMetricFamily(
            "kafka_consumergroup_current_offset_sum",
            "Current Offset of a ConsumerGroup at Topic for all partitions",
            labels=["consumergroup", "topic"],
        ),
        "g_lag": GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "Current Approximate Lag of a ConsumerGroup at Topic/Partition",
            labels=["consumergroup", *tp],
        ),
        "g_lag_sum": GaugeMetricFamily(
            "kafka_consumergroup_lag_sum",
            "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
            labels=["consumergroup", "topic"],
        ),
        "g_members": GaugeMetricFamily(
            "kafka_consumergroup_members", "Amount of members in a consumer group", labels=["consumergroup"]
        ),
    }
    fam["brokers"].add_metric([], len(s.brokers))
    for node_id, address in s.brokers:
        fam["broker_info"].add_metric([str(node_id), address], 1)
    for topic, count in sorted(s.partitions.items()):
        fam["partitions"].add_metric([topic], count)
    for (topic, p), value in sorted(s.end.items()):
        fam["current"].add_metric([topic, str(p)], value)
    for (topic, p), value in sorted(s.start.items()):
        fam["oldest"].add_metric([topic, str(p)], value)
    for key in sorted(s.leader):
        labels = [key[0], str(key[1])]
        fam["leader"].add_metric(labels, s.leader[key])
        fam["replicas"].add_metric(labels, s.replicas.get(key, 0))
        fam["isr"].add_metric(labels, s.isr.get(key, 0))
        fam["urp"].add_metric(labels, 1 if s.isr.get(key, 0) < s.replicas.get(key, 0) else 0)
    cur_sum: dict[tuple[str, str], int] = {}
    lag_sum: dict[tuple[str, str], int] = {}
    for (group, topic, p), committed in sorted(s.committed.items()):
        fam["g_current"].add_metric([group, topic, str(p)], committed)
        cur_sum[(group, topic)] = cur_sum.get((group, topic), 0) + max(committed, 0)
        value = lag(s.end.get((topic, p)), committed)
        if value is not None:
            fam["g_lag"].add_metric([group, topic, str(p)], value)
            lag_sum[(group, topic)] = lag_sum.get((group, topic), 0) + value
    for (group, topic), value in sorted(cur_sum.items()):
        fam["g_current_sum"].add_metric([group, topic], value)
    for (group, topic), value in sorted(lag_sum.items()):
        fam["g_lag_sum"].add_metric([group, topic], value)
    for group, count in sorted(s.members.items()):
        fam["g_members"].add_metric([group], count)
    return list(fam.values())


def _field(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class Poller:
    def __init__(self, bootstrap: str, interval: float, timeout_ms: int = 5000) -> None:
        self.bootstrap = bootstrap
        self.interval = interval
        self.timeout_ms = timeout_ms
        self.snapshot = Snapshot()
        self.last_poll_ok = False
        self._admin = None

    def _client(self):
        from kafka import KafkaAdminClient

        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="stack-lag-exporter",
                request_timeout_ms=self.timeout_ms,
            )
        return self._admin

    def _call(self, fn, attempts: int = 4):
        # A broker that just died is still in the metadata; kafka-python may pick it, fail, and
        # back it off, so a retry on the same client reaches a live broker.
        for i in range(attempts):
            try:
                return fn(self._client())
            except Exception:  # kafka-python's own error types
                if i == attempts - 1:
                    raise
                time.sleep(0.2)

    def poll_once(self) -> Snapshot:
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        t0 = time.monotonic()
        s = Snapshot()
        cluster = self._call(lambda a: a.describe_cluster())
        s.brokers = sorted(
            (int(b["broker_id"]), f"{b['host']}:{b['port']}")
            for b in cluster["brokers"]
            if not b.get("is_fenced")
        )
        topics = [
            t
            for t in self._call(lambda a: a.describe_topics())
            if not t.get("is_internal") and not t["name"].startswith("__")
        ]
        tps = []
        for t in topics:
            name = t["name"]
            s.partitions[name] = len(t["partitions"])
            for p in t["partitions"]:
                key = (name, int(p["partition_index"]))
                s.leader[key] = int(p["leader_id"])
                s.replicas[key] = len(p["replica_nodes"])
                s.isr[key] = len(p["isr_nodes"])
                tps.append(TopicPartition(name, key[1]))
        if tps:
            for spec, target in ((OffsetSpec.LATEST, s.end), (OffsetSpec.EARLIEST, s.start)):
                specs = {tp: spec for tp in tps}
                found = self._call(lambda a, q=specs: a.list_partition_offsets(q, timeout_ms=self.timeout_ms))
                for tp, info in found.items():
                    target[(tp.topic, tp.partition)] = int(_field(info, "offset", -1))
        groups = [
            _field(g, "group_id") or _field(g, "group") or (g[0] if isinstance(g, tuple) else g)
            for g in self._call(lambda a: a.list_groups())
        ]
        groups = [g for g in groups if isinstance(g, str)]
        if groups:
            offsets = self._call(lambda a: a.list_group_offsets({g: None for g in groups}))
            for group, per_tp in offsets.items():
                for tp, om in per_tp.items():
                    if tp.topic.startswith("__"):
                        continue
                    s.committed[(group, tp.topic, tp.partition)] = int(_field(om, "offset", -1))
            try:
                for group, desc in self._call(lambda a: a.describe_groups(groups)).items():
                    s.members[group] = len(_field(desc, "members", []) or [])
            except Exception as exc:  # e.g. KIP-848 groups that DescribeGroups does not cover
                log.info("describe_groups failed (%s); kafka_consumergroup_members omitted", exc)
        s.ok = True
        s.took_s = time.monotonic() - t0
        return s

    def loop(self) -> None:
        failures = 0
        while True:
            try:
                self.snapshot = self.poll_once()
                self.last_poll_ok = True
                failures = 0
            except Exception as exc:  # any Kafka error: keep serving the last snapshot
                failures += 1
                self.last_poll_ok = False
                log.warning("poll failed: %s: %s", type(exc).__name__, exc)
                if failures >= 3:
                    # The cluster is unreachable: stop reporting stale offsets and brokers.
                    self.snapshot = Snapshot()
                if failures >= 3 and self._admin is not None:
                    try:
                        self._admin.close()
                    except Exception:  # closing a broken client may raise anything
                        pass
                    self._admin = None
            time.sleep(self.interval)


class SnapshotCollector(Collector):
    def __init__(self, poller: Poller) -> None:
        self.poller = poller

    def collect(self):
        yield from build_families(self.poller.snapshot)
        up = GaugeMetricFamily("kafka_exporter_last_poll_ok", "1 if the last poll of the cluster succeeded")
        up.add_metric([], 1 if self.poller.last_poll_ok else 0)
        yield up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kafka_exporter-compatible consumer lag exporter")
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--listen", default="127.0.0.1:9308", help="host:port for /metrics")
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between cluster polls")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    host, _, port = args.listen.rpartition(":")
    poller = Poller(args.bootstrap_servers, args.interval)
    REGISTRY.register(SnapshotCollector(poller))
    start_http_server(int(port), addr=host or "127.0.0.1")
    log.info("serving on http://%s/metrics for %s", args.listen, args.bootstrap_servers)
    poller.loop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
