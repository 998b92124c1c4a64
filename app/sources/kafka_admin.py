"""The Kafka admin view of "now": brokers, controller, partitions with leader/ISR, group lag.

kafka-python's admin client talks to the brokers directly. Every call is bounded by the
client's request timeout and the bootstrap timeout, and failures become `SourceUnavailable`
naming the bootstrap servers. The parse step (`partitions_from_metadata`, `group_lag`) is pure.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.sources.base import SourceUnavailable

SOURCE = "kafka"


@dataclass(frozen=True)
class BrokerInfo:
    id: str
    host: str
    port: int
    rack: str | None = None
    fenced: bool = False


@dataclass(frozen=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int  # -1: no leader (offline)
    replicas: list[int]
    isr: list[int]
    internal: bool = False

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)

    @property
    def offline(self) -> bool:
        return self.leader < 0


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class AdminView:
    cluster_id: str | None
    controller: str | None
    brokers: list[BrokerInfo]
    partitions: list[PartitionInfo]
    lags: list[GroupLag] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def under_replicated(self) -> list[PartitionInfo]:
        return [p for p in self.partitions if p.under_replicated]

    def offline(self) -> list[PartitionInfo]:
        return [p for p in self.partitions if p.offline]

    def lag_by_group(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.lags:
            out[row.group] = out.get(row.group, 0) + row.lag
        return out

    def lagging_groups(self, threshold: int = 0) -> dict[str, int]:
        return {g: lag for g, lag in sorted(self.lag_by_group().items()) if lag > threshold}

    def to_dict(self, max_partitions: int = 200) -> dict[str, Any]:
        """JSON-ready "now" view for the UI and agents; partition lists are capped."""

        def part(p: PartitionInfo) -> dict[str, Any]:
            return {
                "topic": p.topic,
                "partition": p.partition,
                "leader": p.leader,
                "replicas": p.replicas,
                "isr": p.isr,
            }

        urp, offline = self.under_replicated(), self.offline()
        return {
            "cluster_id": self.cluster_id,
            "controller": self.controller,
            "brokers": [
                {"id": b.id, "host": b.host, "port": b.port, "rack": b.rack, "fenced": b.fenced}
                for b in self.brokers
            ],
            "partitions": len(self.partitions),
            "under_replicated": [part(p) for p in urp[:max_partitions]],
            "under_replicated_count": len(urp),
            "offline": [part(p) for p in offline[:max_partitions]],
            "offline_count": len(offline),
            "leaders_per_broker": {
                b.id: sum(1 for p in self.partitions if str(p.leader) == b.id) for b in self.brokers
            },
            "lagging_groups": self.lagging_groups(),
            "problems": list(self.problems),
        }


def brokers_from_cluster(described: Mapping[str, Any]) -> tuple[list[BrokerInfo], str | None, str | None]:
    brokers = []
    for item in described.get("brokers", []):
        node = item.get("broker_id", item.get("node_id"))
        brokers.append(
            BrokerInfo(
                str(node),
                str(item.get("host", "")),
                int(item.get("port", 0)),
                item.get("rack"),
                bool(item.get("is_fenced", False)),
            )
        )
    controller = described.get("controller_id")
    controller = None if controller in (None, -1) else str(controller)
    brokers.sort(key=lambda b: (len(b.id), b.id))
    return brokers, controller, described.get("cluster_id")


def partitions_from_metadata(topics: Iterable[Mapping[str, Any]]) -> tuple[list[PartitionInfo], list[str]]:
    out, problems = [], []
    for topic in topics:
        name = str(topic.get("name") or topic.get("topic"))
        if topic.get("error_code"):
            problems.append(f"topic {name}: error code {topic['error_code']}")
        for part in topic.get("partitions", []):
            out.append(
                PartitionInfo(
                    topic=name,
                    partition=int(part.get("partition_index", part.get("partition", -1))),
                    leader=int(part.get("leader_id", part.get("leader", -1))),
                    replicas=[int(r) for r in part.get("replica_nodes", part.get("replicas", []))],
                    isr=[int(r) for r in part.get("isr_nodes", part.get("isr", []))],
                    internal=bool(topic.get("is_internal", False)),
                )
            )
    out.sort(key=lambda p: (p.topic, p.partition))
    return out, problems


def group_lag(group: str, committed: Mapping[Any, Any], ends: Mapping[Any, Any]) -> list[GroupLag]:
    """Lag per partition from committed offsets and end offsets (both keyed by TopicPartition)."""
    rows = []
    for tp, meta in committed.items():
        offset = getattr(meta, "offset", meta)
        end = ends.get(tp)
        end = getattr(end, "offset", end)
        if offset is None or offset < 0 or end is None:
            continue  # nothing committed yet: no lag to report
        rows.append(GroupLag(group, tp.topic, int(tp.partition), int(offset), int(end)))
    return sorted(rows, key=lambda r: (r.topic, r.partition))


class KafkaAdmin:
    def __init__(self, bootstrap_servers: str, timeout: float = 10.0, client_factory=None):
        if not bootstrap_servers:
            raise ValueError(
                "no Kafka bootstrap servers given; pass host:port[,host:port] or set KAFKA_BOOTSTRAP_SERVERS"
            )
        self.bootstrap = bootstrap_servers
        self.timeout = timeout
        self._factory = client_factory
        self._client = None

    def _admin(self):
        if self._client is None:
            ms = int(self.timeout * 1000)
            try:
                if self._factory:
                    self._client = self._factory()
                else:
                    self._client = self._connect(ms)
            except Exception as exc:  # kafka-python raises several unrelated types here
                raise SourceUnavailable(
                    f"{SOURCE} at {self.bootstrap}", f"cannot connect ({_describe(exc)})"
                ) from None
        return self._client

    def _connect(self, ms: int):
        """All bootstrap servers at once; if that fails, each alone with a share of the time.

        A broker that accepts connections but never answers (hung, SIGSTOPped) can eat the whole
        bootstrap timeout when it is tried first, although the other brokers are fine.
        """
        from kafka import KafkaAdminClient

        servers = [s.strip() for s in self.bootstrap.split(",") if s.strip()]

        def connect(hosts: list[str], bootstrap_ms: int):
            return KafkaAdminClient(
                bootstrap_servers=hosts,
                client_id="kafka-incident-lens",
                request_timeout_ms=ms,
                bootstrap_timeout_ms=bootstrap_ms,
                # A hung broker accepts TCP but never finishes the handshake. The long reconnect
                # backoff keeps a node that failed set-up out of the client's node choice for the
                # retry in `_call`; with the default 50 ms it picks at random again, maybe the
                # hung one. (The admin client does not expose its 10 s set-up timeout.)
                reconnect_backoff_ms=ms,
                reconnect_backoff_max_ms=4 * ms,
            )

        if len(servers) < 2:
            return connect(servers, ms)
        try:
            return _shun_nodes_that_time_out(connect(servers, ms // 2))
        except Exception as first:  # kafka-python raises several unrelated types here
            share = max(1000, ms // (2 * len(servers)))
            for server in servers[1:] + servers[:1]:
                try:
                    return _shun_nodes_that_time_out(connect([server], share))
                except Exception:  # noqa: S112 - the next server may answer
                    continue
            raise first

    def _call(self, what: str, fn, *args, retry: bool = True, **kwargs):
        for attempt in (1, 2) if retry else (2,):
            try:
                return fn(*args, **kwargs)
            except SourceUnavailable:
                raise
            except Exception as exc:
                # A timed-out request most likely went to a hung broker, now backed off (see
                # `_connect`), so the client sends the retry to another node. Retry once.
                if attempt == 1 and (getattr(exc, "retriable", False) or "Time" in type(exc).__name__):
                    continue
                raise SourceUnavailable(
                    f"{SOURCE} at {self.bootstrap}", f"{what} failed ({_describe(exc)})"
                ) from None
        raise AssertionError("unreachable")

    def view(self, groups: bool = True) -> AdminView:
        admin = self._admin()
        described = self._call("describe cluster", admin.describe_cluster)
        brokers, controller, cluster_id = brokers_from_cluster(described)
        topics = self._call("describe topics", admin.describe_topics)
        partitions, problems = partitions_from_metadata(topics)
        lags: list[GroupLag] = []
        if groups:
            try:
                lags = self._lags(admin, partitions)
            except SourceUnavailable as exc:
                problems.append(str(exc))
        return AdminView(cluster_id, controller, brokers, partitions, lags, problems)

    def _lags(self, admin, partitions: list[PartitionInfo]) -> list[GroupLag]:
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        listed = self._call("list groups", admin.list_groups, retry=False)
        names = sorted(
            {str(g.get("group_id", g.get("group"))) if isinstance(g, Mapping) else str(g[0]) for g in listed}
        )
        if not names:
            return []
        committed = self._call("list group offsets", admin.list_group_offsets, names)
        wanted = {tp for offsets in committed.values() for tp in offsets}
        live = {(p.topic, p.partition) for p in partitions if not p.offline}
        specs = {
            TopicPartition(tp.topic, tp.partition): OffsetSpec.LATEST
            for tp in wanted
            if (tp.topic, tp.partition) in live
        }
        ends = self._call("list end offsets", admin.list_partition_offsets, specs) if specs else {}
        rows = []
        for group in names:
            rows.extend(group_lag(group, committed.get(group, {}), ends))
        return rows

    def broker_version(self, broker_id: str) -> str | None:
        """The broker's Kafka version as inferred from its API versions (e.g. "4.3"), if known."""
        admin = self._admin()
        try:
            data = admin.get_broker_version_data(int(broker_id))
        except Exception:  # an old client/broker pair without the call: no version, not an error
            return None
        return getattr(data, "broker_version_str", None) or None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None


def _shun_nodes_that_time_out(admin, seconds: float = 60.0):
    """Keep a node whose request timed out out of the node choice, so retries go elsewhere.

    kafka-python 3.0 sends cluster-wide requests to a random idle node and backs off only nodes
    whose connection set-up raises. A hung broker (SIGSTOP, stuck GC) accepts TCP and never
    answers; its failed set-up even resets the backoff, so it stays eligible and a retry picks it
    again one time in N. We remember such nodes and re-apply the backoff when the client would
    pick one. The hook is on the client's connection manager, a private attribute: with another
    kafka-python it is skipped and retries are random again.
    """
    manager = getattr(admin, "_manager", None)
    send = getattr(manager, "send", None)
    if not (callable(send) and hasattr(manager, "least_loaded_node") and hasattr(manager, "update_backoff")):
        return admin
    shunned: dict[Any, float] = {}

    def pick():
        node = manager.least_loaded_node()
        for _ in range(8):
            if node is None or shunned.get(node, 0.0) < time.monotonic():
                return node
            manager.update_backoff(node)  # makes least_loaded_node skip it while others are up
            node = manager.least_loaded_node()
        return node

    def routed(request, node_id=None, **kwargs):
        node_id = pick() if node_id is None else node_id
        future = send(request, node_id=node_id, **kwargs)

        def shun(exc):
            if node_id is not None and "Time" in type(exc).__name__:
                shunned[node_id] = time.monotonic() + seconds

        if hasattr(future, "add_errback"):
            future.add_errback(shun)
        return future

    manager.send = routed
    return admin


def _describe(exc: Exception) -> str:
    text = str(exc) or ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
