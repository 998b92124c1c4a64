"""Headless use against the real stack: the MCP server on live Prometheus/Loki, and the periodic
snapshot over two intervals with a restart in between (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from app.snapshots import read_dataset, read_state

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _mcp_calls(args: list[str], calls: list[tuple[str, dict]]):
    async def go():
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "app", "mcp", *args], cwd=str(ROOT)
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return [await session.call_tool(name, arguments) for name, arguments in calls]

    return anyio.run(go)


def test_mcp_diagnose_on_live_servers(real_stack):
    listing, snapshot, logs, diagnosis = _mcp_calls(
        ["--prometheus", real_stack.prometheus_url, "--loki", real_stack.loki_url],
        [
            ("list_clusters_and_brokers", {}),
            ("metric_snapshot", {"broker": "1", "from": "now-10m", "to": "now", "signals": ["broker_up"]}),
            ("pull_logs", {"from": "now-10m", "to": "now", "limit": 20}),
            ("diagnose", {"from": "now-10m", "to": "now"}),
        ],
    )
    for result in (listing, snapshot, logs, diagnosis):
        assert not result.is_error, result.content[0].text
    assert json.loads(listing.content[0].text)["brokers"] == ["1", "2", "3"]
    up = json.loads(snapshot.content[0].text)["signals"]
    assert up and all(s["broker"] == "1" for s in up) and up[0]["points"] >= 2
    pulled = json.loads(logs.content[0].text)
    assert pulled["total"] > 0 and len(pulled["events"]) <= 20
    answer = json.loads(diagnosis.content[0].text)
    assert answer["incident"]["status"] in ("incident", "quiet")
    assert answer["incident"]["brokers"] == ["1", "2", "3"]
    assert answer["note"].startswith("#")


def _snapshot_once(real_stack, dataset: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "snapshot",
            "--prometheus",
            real_stack.prometheus_url,
            "--loki",
            real_stack.loki_url,
            "--dataset",
            str(dataset),
            "--every",
            "1",
            "--delay",
            "5",
            "--once",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_periodic_snapshot_over_two_intervals_with_a_restart(real_stack, tmp_path):
    dataset = tmp_path / "dataset"
    first = _snapshot_once(real_stack, dataset)
    assert first.returncode == 0, first.stderr
    first_end = read_state(dataset)["last_end"]

    # The process exits (as under cron) and is started again after the next interval closed.
    wait = 60 - datetime.now(UTC).second + 6
    time.sleep(wait)
    second = _snapshot_once(real_stack, dataset)
    assert second.returncode == 0, second.stderr
    state = read_state(dataset)
    assert state["last_end"] > first_end

    metrics = read_dataset(dataset, "metrics")
    assert not metrics.empty
    minutes = sorted(metrics["ts"].dt.floor("min").unique())
    assert len(minutes) >= 2
    gaps = [b - a for a, b in zip(minutes, minutes[1:], strict=False)]
    assert all(g.total_seconds() == 60 for g in gaps), f"windows not contiguous: {minutes}"
    key = ["ts", "signal", "broker", "labels"]
    assert not metrics.duplicated(key).any(), "a sample was written twice"
    parts = sorted(p.relative_to(dataset).parts[:3] for p in dataset.rglob("*.parquet"))
    assert parts and all(p[1].startswith("date=") and p[2].startswith("broker=") for p in parts), parts
