"""Config files the stack writes for each run (pure functions of StackConfig and paths)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from stack.config import StackConfig

# Leader-side ISR shrink must be able to happen before the controller fences a dead broker,
# otherwise kill -9 only shows controller-side ISR changes and IsrShrinksPerSec never moves.
BROKER_DEFAULTS: dict[str, str] = {
    "num.network.threads": "2",
    "num.io.threads": "2",
    "num.partitions": "3",
    "num.recovery.threads.per.data.dir": "1",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "10",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "group.initial.rebalance.delay.ms": "0",
    "replica.lag.time.max.ms": "10000",
    "broker.session.timeout.ms": "18000",
    "socket.send.buffer.bytes": "102400",
    "socket.receive.buffer.bytes": "102400",
    "socket.request.max.bytes": "104857600",
    "log.retention.hours": "168",
    "log.segment.bytes": "1073741824",
    "log.retention.check.interval.ms": "300000",
}


def broker_properties(
    cfg: StackConfig, node: int, data_dir: Path, overrides: dict[str, str] | None = None
) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "controller.quorum.voters": cfg.quorum_voters,
        "listeners": f"PLAINTEXT://{cfg.host}:{cfg.kafka_port(node)},CONTROLLER://{cfg.host}:{cfg.controller_port(node)}",
        "advertised.listeners": f"PLAINTEXT://{cfg.host}:{cfg.kafka_port(node)}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        **BROKER_DEFAULTS,
        **(overrides or {}),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def prometheus_config(cfg: StackConfig, rule_files: list[Path]) -> str:
    kafka_targets = [
        {"targets": [f"{cfg.host}:{cfg.jmx_port(n)}"], "labels": {"cluster": cfg.cluster, "broker": str(n)}}
        for n in cfg.node_ids
    ]
    doc = {
        "global": {"scrape_interval": "5s", "scrape_timeout": "4s", "evaluation_interval": "5s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": "kafka", "static_configs": kafka_targets},
            {
                "job_name": "kafka_exporter",
                "static_configs": [
                    {"targets": [f"{cfg.host}:{cfg.lag_exporter_port}"], "labels": {"cluster": cfg.cluster}}
                ],
            },
            {
                "job_name": "loki",
                "static_configs": [
                    {"targets": [f"{cfg.host}:{cfg.loki_port}"], "labels": {"cluster": cfg.cluster}}
                ],
            },
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def loki_config(cfg: StackConfig, data_dir: Path) -> str:
    # Loki 1.6.1: boltdb index + filesystem chunks, schema v11. It has no usage reporting
    # (that arrived in 2.x), so there is nothing to switch off.
    doc = {
        "auth_enabled": False,
        "server": {
            "http_listen_address": cfg.host,
            "http_listen_port": cfg.loki_port,
            "grpc_listen_address": cfg.host,
            "grpc_listen_port": cfg.loki_grpc_port,
            "log_level": "info",
        },
        "ingester": {
            "lifecycler": {
                "address": cfg.host,
                "ring": {"kvstore": {"store": "inmemory"}, "replication_factor": 1},
                "final_sleep": "0s",
                "min_ready_duration": "0s",
            },
            "chunk_idle_period": "5m",
            "chunk_retain_period": "30s",
            "max_transfer_retries": 0,
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2020-01-01",
                    "store": "boltdb",
                    "object_store": "filesystem",
                    "schema": "v11",
                    "index": {"prefix": "index_", "period": "168h"},
                }
            ]
        },
        "storage_config": {
            "boltdb": {"directory": str(data_dir / "index")},
            "filesystem": {"directory": str(data_dir / "chunks")},
        },
        "limits_config": {
            "enforce_metric_name": False,
            "reject_old_samples": False,
            "ingestion_rate_mb": 32,
            "ingestion_burst_size_mb": 64,
            "max_entries_limit_per_query": 5000,
            "max_streams_per_user": 0,
        },
        "chunk_store_config": {"max_look_back_period": "0s"},
        "table_manager": {"retention_deletes_enabled": False, "retention_period": "0s"},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def shipper_config(cfg: StackConfig, log_dirs: dict[int, Path], positions: Path) -> str:
    return json.dumps(
        {
            "loki_url": cfg.loki_url,
            "cluster": cfg.cluster,
            "job": "kafka",
            "positions": str(positions),
            "nodes": {str(n): str(d) for n, d in log_dirs.items()},
        },
        indent=2,
    )
