"""Wrong or unreachable server addresses, with no servers: closed loopback ports refuse at once.

The CLI, the service layer and the Streamlit page each say which server failed and what to
check, return within a bounded time, and never show a traceback. (Real servers stopping, slowing
down or rate limiting are in tests/integration/test_faults_sources.py.)
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import service
from app.sources.live import LiveSource

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens once the socket closes


def cli(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out, time.monotonic() - start


def test_both_servers_down_cli_partial_result_and_exit_3():
    prometheus, loki = closed_port(), closed_port()
    out, elapsed = cli("diagnose", "--prometheus", prometheus, "--loki", loki, "--format", "json")
    assert out.returncode == 3
    incident = json.loads(out.stdout)
    by_source = {r["source"]: r for r in incident["sources"]}
    assert (
        by_source["metrics"]["status"] == "error"
        and f"prometheus at {prometheus}" in by_source["metrics"]["message"]
    )
    assert by_source["logs"]["status"] == "error" and f"loki at {loki}" in by_source["logs"]["message"]
    assert "connection refused" in out.stderr and "is the server running" in out.stderr
    assert "exit code 3" in out.stderr
    assert elapsed < 40  # bounded retries, no hang


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--prometheus", "localhost:9090"], "Prometheus URL 'localhost:9090' must start with http://"),
        (["--prometheus", "http://127.0.0.1:9", "--loki", "3100"], "Loki URL '3100' must start with http://"),
    ],
)
def test_malformed_server_urls_are_usage_errors(args, expect):
    out, _ = cli("diagnose", *args, "--no-llm")
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {expect} or https://"


def test_check_with_unreachable_prometheus_is_one_line():
    prometheus = closed_port()
    out, elapsed = cli("check", "--prometheus", prometheus, "--timeout", "2")
    assert out.returncode == 1
    assert out.stderr.startswith(f"check failed: prometheus at {prometheus}: cannot connect")
    assert elapsed < 30


def test_service_layer_partial_diagnosis_and_clear_errors():
    prometheus = closed_port()
    source = LiveSource(prometheus, loki_url=closed_port(), timeout=2)
    t0 = time.monotonic()
    diagnosis = service.diagnose_window(source, "now-15m", "now")
    assert time.monotonic() - t0 < 30
    assert {r.source: r.status for r in diagnosis.incident.sources} == {"metrics": "error", "logs": "error"}
    assert diagnosis.incident.missing  # the note lists what is missing
    from app.sources.base import SourceError

    with pytest.raises(SourceError, match=f"prometheus at {prometheus}: cannot connect"):
        service.metric_snapshot(source, "now-15m", "now")  # the MCP tool turns this into a tool error


def test_streamlit_live_mode_with_unreachable_or_malformed_prometheus():
    from streamlit.testing.v1 import AppTest

    home = str(REPO / "app" / "ui" / "Home.py")
    dead = closed_port()
    for url, expect in [
        (dead, f"prometheus at {dead}: cannot connect"),
        ("localhost:9090", "must start with http://"),
    ]:
        app = AppTest.from_file(home, default_timeout=90)
        app.query_params["prometheus"] = url
        app.run()
        assert not app.exception, app.exception
        shown = " ".join(e.value for e in app.error)
        assert "Cannot list brokers" in shown and expect in shown, shown


def test_mcp_server_on_unreachable_servers_answers_with_the_partial_result():
    """An agent calling diagnose while Prometheus and Loki are down gets the partial incident."""
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    prometheus, loki = closed_port(), closed_port()
    args = ["-m", "app", "mcp", "--prometheus", prometheus, "--loki", loki]

    async def go():
        params = StdioServerParameters(command=sys.executable, args=args, cwd=str(REPO))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool("diagnose", {"from": "now-15m"}), await session.call_tool(
                "metric_snapshot", {"from": "now-15m"}
            )

    diagnosis, snapshot = anyio.run(go)
    assert not diagnosis.is_error
    incident = json.loads(diagnosis.content[0].text)["incident"]
    assert {r["source"]: r["status"] for r in incident["sources"]} == {"metrics": "error", "logs": "error"}
    assert snapshot.is_error and f"prometheus at {prometheus}" in snapshot.content[0].text
