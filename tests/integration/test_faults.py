"""broker_down on the real stack: what Prometheus and Loki show while one broker is killed.

Kills one broker with SIGKILL under the load, checks from the real servers that its `up` went
to 0, that under-replicated partitions rose on the survivors and that their leaders logged
"Shrinking ISR" naming the dead broker, then restarts it and checks the cluster heals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests

from stack import faults, record

pytestmark = pytest.mark.integration


def _prom(url: str, query: str) -> float | None:
    """Instant query; the single value, or None when the query returns no series."""
    resp = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=10)
    resp.raise_for_status()
    result = resp.json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _loki_lines(url: str, query: str, since: datetime) -> list[str]:
    resp = requests.get(
        f"{url}/loki/api/v1/query_range",
        params={
            "query": query,
            "start": int(since.timestamp() * 1e9),
            "end": int(time.time() * 1e9),
            "limit": 1000,
            "direction": "forward",
        },
        timeout=15,
    )
    resp.raise_for_status()
    return [line for stream in resp.json()["data"]["result"] for _, line in stream["values"]]


def _wait_for(what: str, probe: Callable[[], object], timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(2)
    pytest.fail(f"{what}: not seen within {timeout_s:.0f}s (last probe: {last!r})")


def test_broker_down_is_visible_in_prometheus_and_loki(real_stack):
    stack = record.endpoints_for(real_stack)
    ops, prom, loki = stack.ops, stack.prometheus_url, stack.loki_url
    record.ensure_load(ops, warmup_s=20)
    record.wait_healthy(ops, timeout_s=120)
    assert _prom(prom, 'count(up{job="kafka"} == 1)') == len(ops.brokers())

    fault = faults.make("broker_down")
    ctx = faults.FaultContext(ops=ops, broker="3")
    injected_at = datetime.now(UTC)
    victim = fault.inject(ctx)  # broker 3, or another one if 3 leads the KRaft quorum
    assert victim in ops.brokers()
    try:
        assert ops.node_pid(victim) is None, "the killed broker still has a live process"
        _wait_for(
            "up==0 for the killed broker",
            lambda: _prom(prom, f'up{{job="kafka",broker="{victim}"}}') == 0.0,
            30,
        )
        urp = _wait_for(
            "under-replicated partitions on the surviving brokers",
            lambda: (
                _prom(
                    prom,
                    f"sum(kafka_server_replicamanager_underreplicatedpartitions"
                    f'{{job="kafka",broker!="{victim}"}})',
                )
                or 0.0
            ),
            60,
        )
        assert urp > 0
        # a negative matcher alone selects nothing in Loki 1.x: anchor on job
        shrink_query = f'{{job="kafka",broker!="{victim}"}} |= "Shrinking ISR"'
        shrinks = _wait_for(
            "Shrinking ISR lines naming the killed broker in Loki",
            lambda: [
                line for line in _loki_lines(loki, shrink_query, injected_at) if f"brokerId: {victim}" in line
            ],
            60,
        )
        assert all(f"broker={victim}]" not in line for line in shrinks), "the dead broker logged a shrink"
    finally:
        fault.recover(ctx)

    record.wait_healthy(ops, timeout_s=120)
    _wait_for("up==1 after restart", lambda: _prom(prom, f'up{{job="kafka",broker="{victim}"}}') == 1.0, 30)
    total_urp = 'sum(kafka_server_replicamanager_underreplicatedpartitions{job="kafka"})'
    _wait_for("under-replicated partitions back to 0", lambda: _prom(prom, total_urp) == 0.0, 60)
