"""A seeded synthetic broker_down bundle with known truth, for the skeleton's own tests.

Real recordings (samples/) prove the product; this only lets pipeline plumbing be tested
without them, with a truth we control.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from app.bundle import GroundTruth, Manifest, write_bundle
from app.model import Window

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STEP = 5
POINTS = 180  # 15 minutes
FAULT_AT = 90  # index of the first sample with broker 2 gone


def make_bundle(path: Path, seed: int = 7, dead: str = "2") -> Path:
    rng = np.random.default_rng(seed)
    times = [START + timedelta(seconds=STEP * i) for i in range(POINTS)]
    rows = []

    def add(signal: str, broker: str, values, query: str) -> None:
        for ts, value in zip(times, values, strict=True):
            if not np.isnan(value):
                rows.append((ts, signal, broker, json.dumps({"broker": broker}), float(value), query))

    for broker in ["1", "2", "3"]:
        urp = np.zeros(POINTS)
        if broker != dead:
            urp[FAULT_AT:] = 12
        up = np.ones(POINTS)
        bytes_in = 1e6 + rng.normal(0, 2e4, POINTS)
        if broker == dead:
            up[FAULT_AT:] = 0
            bytes_in[FAULT_AT:] = np.nan
        add(
            "under_replicated_partitions",
            broker,
            urp,
            'kafka_server_replicamanager_underreplicatedpartitions{broker=~".+"}',
        )
        add("broker_up", broker, up, 'up{job="kafka"}')
        add("bytes_in_rate", broker, bytes_in, "rate(kafka_server_brokertopicmetrics_bytesin_total[1m])")
    metrics = pd.DataFrame(rows, columns=["ts", "signal", "broker", "labels", "value", "query"])
    metrics["ts"] = pd.to_datetime(metrics["ts"], utc=True)

    fault = times[FAULT_AT]
    log_rows = []
    for i in range(0, POINTS, 6):
        for broker in ["1", "2", "3"]:
            if broker == dead and i >= FAULT_AT:
                continue
            ts = times[i]
            line = (
                f"[{ts:%Y-%m-%d %H:%M:%S},000] INFO [LocalLog partition=t-0, dir=/d] "
                f"Rolled new log segment at offset {i} in 1 ms. (kafka.log.LocalLog)"
            )
            log_rows.append((ts, broker, json.dumps({"broker": broker, "filename": "server.log"}), line))
    for k, broker in enumerate(b for b in ["1", "2", "3"] if b != dead):
        ts = fault + timedelta(seconds=2 + k)
        others = [b for b in ["1", "2", "3"] if b != dead]
        line = (
            f"[{ts:%Y-%m-%d %H:%M:%S},{k:03d}] INFO [Partition orders-{k} broker={broker}] "
            f"Shrinking ISR from {','.join(sorted(['1', '2', '3']))} to {','.join(others)}. "
            "Leader: (highWatermark: 10, endOffset: 12). "
            f"Out of sync replicas: (brokerId: {dead}, endOffset: 10, lastCaughtUpTimeMs: 1). "
            "(kafka.cluster.Partition)"
        )
        log_rows.append((ts, broker, json.dumps({"broker": broker, "filename": "server.log"}), line))
    logs = pd.DataFrame(log_rows, columns=["ts", "broker", "labels", "line"])
    logs["ts"] = pd.to_datetime(logs["ts"], utc=True)

    manifest = Manifest(
        cluster="synthetic",
        brokers=["1", "2", "3"],
        window=Window(times[0], times[-1]),
        step_seconds=STEP,
        profile="jmx_kafka_kraft",
        created_at=START,
        versions={"generator": "tests/synthetic_bundle.py"},
        notes=f"seeded synthetic broker_down, seed={seed}",
    )
    truth = GroundTruth("broker_down", "broker_down", dead, fault, None)
    return write_bundle(path, manifest, metrics, logs, truth)
