"""Grafana dashboards as code (grafana-foundation-sdk, Grafana 11.6 line) from the same signal ids.

Each panel charts the recorded series of one promql_library signal, filtered by the
`cluster` and `broker` variables, and links into the app on the same broker and time range
(`${app_url}/?cluster=${cluster}&broker=${broker}&from=${__from}&to=${__to}`, epoch ms as
Grafana sends them). Output is JSON with sorted keys, so a regenerate-and-diff test is exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableOption, VariableRefresh

from app.rules.config import DEFAULT, RulesConfig
from app.rules.kafka import record_for
from app.signals import Library

DEFAULT_APP_URL = "http://localhost:8501"
APP_LINK = "${app_url}/?cluster=${cluster}&broker=${broker}&from=${__from}&to=${__to}"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
DASHBOARD_DIR = "grafana/dashboards"
UNITS = {
    "partitions": "short",
    "per_second": "ops",
    "controllers": "short",
    "elections": "short",
    "ratio": "percentunit",
    "bytes_per_second": "Bps",
    "messages_per_second": "short",
    "milliseconds": "ms",
    "requests_per_second": "reqps",
    "messages": "short",
    "seconds": "s",
    "cores": "short",
    "files": "short",
    "node_id": "short",
    "epoch": "short",
    "bool": "short",
}


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    signals: tuple[str, ...]


BOARDS = (
    Board(
        "kil-broker-health",
        "Kafka / Broker health",
        "Is each broker up, and how busy is its request path?",
        (
            "broker_up",
            "active_controller",
            "request_handler_idle",
            "network_processor_idle",
            "bytes_in_rate",
            "bytes_out_rate",
            "messages_in_rate",
            "produce_request_rate",
            "fetch_request_rate",
            "produce_latency_p99",
            "fetch_consumer_latency_p99",
            "fetch_follower_latency_p99",
            "log_flush_time_p99",
            "open_fds_ratio",
        ),
    ),
    Board(
        "kil-replication",
        "Kafka / Replication and ISR",
        "Under-replicated, under-min-ISR and offline partitions, ISR churn, controller health.",
        (
            "under_replicated_partitions",
            "under_min_isr_partitions",
            "offline_partitions",
            "isr_shrink_rate",
            "isr_expand_rate",
            "leader_count",
            "partition_count",
            "active_controller_count",
            "controller_changes",
            "unclean_leader_elections",
            "raft_current_leader",
            "raft_current_epoch",
            "raft_commit_latency",
        ),
    ),
    Board(
        "kil-consumer-lag",
        "Kafka / Consumer lag",
        "How far behind each consumer group is, in messages and in seconds, and whether it is growing.",
        ("consumer_lag_sum", "consumer_lag_max_partition", "consumer_lag_growth", "consumer_lag_seconds"),
    ),
    Board(
        "kil-jvm-gc",
        "Kafka / JVM and GC",
        "Garbage collection time and rate, heap, CPU and file descriptors per broker.",
        (
            "gc_time_fraction",
            "gc_count_rate",
            "old_gc_count_rate",
            "heap_used_ratio",
            "process_cpu",
            "open_fds",
        ),
    ),
)


def panel_expr(signal_id: str, scope: str, cfg: RulesConfig = DEFAULT) -> str:
    """The recorded series of `signal_id`, restricted by the dashboard variables."""
    rec = record_for(signal_id, cfg)
    matchers = [f'{cfg.cluster_label}=~"$cluster"']
    if scope == "broker":
        matchers.append(f'{cfg.broker_label}=~"$broker"')
    if rec.matchers:
        matchers.append(rec.matchers)
    return f"{rec.record}{{{','.join(matchers)}}}"


def _legend(scope: str, cfg: RulesConfig) -> str:
    if scope == "group":
        return "{{consumergroup}}"
    if scope == "cluster":
        return "{{" + cfg.cluster_label + "}}"
    return "broker {{" + cfg.broker_label + "}}"


def _variables(cfg: RulesConfig) -> list:
    up = f'broker:up:max{{{cfg.cluster_label}=~"$cluster"}}'
    return [
        db.DatasourceVariable("datasource").label("Prometheus").type("prometheus"),
        db.QueryVariable("cluster")
        .label("cluster")
        .datasource(DATASOURCE)
        .query(f"label_values(broker:up:max, {cfg.cluster_label})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED),  # one cluster at a time: the app link names it
        db.QueryVariable("broker")
        .label("broker")
        .datasource(DATASOURCE)
        .query(f"label_values({up}, {cfg.broker_label})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .all_value(".*")
        .multi(False),
        db.TextBoxVariable("app_url")
        .label("Incident Lens URL")
        .default_value(DEFAULT_APP_URL)
        .current(VariableOption(selected=True, text=DEFAULT_APP_URL, value=DEFAULT_APP_URL)),
    ]


def build_dashboard(board: Board, library: Library, cfg: RulesConfig = DEFAULT):
    builder = (
        db.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["kafka", "kafka-incident-lens", "generated"])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("utc")
        .editable()
    )
    for variable in _variables(cfg):
        builder = builder.with_variable(variable)
    for signal_id in board.signals:
        signal = library.signal(signal_id)
        panel = (
            timeseries.Panel()
            .title(signal_id.replace("_", " "))
            .description(" ".join(signal.description.split()))
            .datasource(DATASOURCE)
            .unit(UNITS.get(signal.unit, "short"))
            .height(8)
            .span(12)
            .line_width(1)
            .fill_opacity(10)
            .with_target(
                prometheus.Dataquery()
                .expr(panel_expr(signal_id, signal.scope, cfg))
                .legend_format(_legend(signal.scope, cfg))
                .ref_id("A")
                .datasource(DATASOURCE)
            )
            .data_links([db.DashboardLink("Open in Kafka Incident Lens").url(APP_LINK).target_blank(True)])
        )
        builder = builder.with_panel(panel)
    return builder.build()


def dashboard_json(board: Board, library: Library, cfg: RulesConfig = DEFAULT) -> str:
    model = build_dashboard(board, library, cfg)
    return json.dumps(json.loads(json.dumps(model, cls=JSONEncoder)), indent=2, sort_keys=True) + "\n"


PROVISIONING_DATASOURCE = """\
# Generated by `python -m app rules generate`. Grafana datasource provisioning.
apiVersion: 1
datasources:
  - name: Prometheus
    type: prometheus
    uid: prometheus
    access: proxy
    url: ${PROMETHEUS_URL}
    isDefault: true
    jsonData:
      timeInterval: 5s
"""

PROVISIONING_DASHBOARDS = """\
# Generated by `python -m app rules generate`. Grafana dashboard provisioning: point `path` at a
# copy of this repository's grafana/dashboards folder.
apiVersion: 1
providers:
  - name: kafka-incident-lens
    folder: Kafka
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: /etc/grafana/dashboards/kafka-incident-lens
      foldersFromFilesStructure: false
"""


def dashboard_artefacts(library: Library, cfg: RulesConfig = DEFAULT) -> dict[str, str]:
    files = {f"{DASHBOARD_DIR}/{b.uid}.json": dashboard_json(b, library, cfg) for b in BOARDS}
    files["grafana/provisioning/datasources/prometheus.yml"] = PROVISIONING_DATASOURCE
    files["grafana/provisioning/dashboards/kafka-incident-lens.yml"] = PROVISIONING_DASHBOARDS
    return files
