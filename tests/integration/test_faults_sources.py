"""Source faults against the real stack: the CLI and the service layer (what the UI and MCP call).

Each case breaks one real source and checks what the user gets: a message naming the source, a
partial result that says what is missing, a sensible exit code (3 = printed but partial), and a
wall time inside the timeout budget. Faults never touch the shared stack's own servers:

- Prometheus stopped mid-diagnosis: a second real Prometheus (same scrape targets) behind
  `FaultProxy`, SIGKILLed after a few signal queries; the proxy then refuses connections.
- Loki stopped: a real Loki started and SIGKILLed before the diagnosis.
- Loki answering 429: a real Loki query-frontend with max outstanding requests per tenant 0
  (Loki's own limit answers "too many outstanding requests"); and a proxy that answers 429 with
  "Retry-After: 3600" twice before passing through (the client must not sleep an hour).
- Prometheus slow: `FaultProxy` holding every answer of the stack's Prometheus for 60 s.
- Kafka unreachable for the admin view: a bootstrap address nobody listens on; and a dead address
  listed before the live ones.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import service
from app.sources.base import SourceError
from app.sources.live import LiveSource
from tests.delay_proxy import FaultProxy
from tests.fault_servers import LokiFrontend, SecondPrometheus, free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PARTIAL = 3  # diagnose: printed a result, but a source failed
TIMEOUT = 15.0  # the CLI's per-request timeout (LiveSource default)


@pytest.fixture(scope="module")
def stack(real_stack):
    return real_stack


def cli(*args: str, budget: float) -> tuple[subprocess.CompletedProcess, float]:
    """Run `python -m app ...` as a user would; fail (not hang) past `budget` seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "LENS_LLM"))}
    env["PYTHONPATH"] = str(REPO)
    start = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=budget,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`python -m app {' '.join(args)}` still running after {budget:.0f}s: it hangs")
    elapsed = time.monotonic() - start
    print(
        f"\n$ python -m app {' '.join(args)}\n  exit {out.returncode} in {elapsed:.1f}s\n  stderr: "
        + out.stderr.strip().replace("\n", "\n          ")
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out, elapsed


def diagnose_json(prometheus: str, loki: str, budget: float, window: str = "now-10m"):
    out, elapsed = cli(
        "diagnose",
        "--prometheus",
        prometheus,
        "--loki",
        loki,
        "--from",
        window,
        "--to",
        "now",
        "--format",
        "json",
        budget=budget,
    )
    incident = json.loads(out.stdout) if out.stdout.strip() else None
    return out, incident, elapsed


def reports(incident: dict) -> dict[str, dict]:
    return {r["source"]: r for r in incident["sources"]}


def timed_service(source: LiveSource, start: str = "now-10m"):
    t0 = time.monotonic()
    diagnosis = service.diagnose_window(source, start, "now")
    elapsed = time.monotonic() - t0
    print(
        f"\nservice.diagnose_window: {elapsed:.1f}s; sources: "
        + "; ".join(f"{r.source} {r.status}: {r.message[:160]}" for r in diagnosis.incident.sources)
    )
    return diagnosis, elapsed


# -- Prometheus -------------------------------------------------------------------------------


def test_prometheus_stopped_mid_diagnosis(stack, tmp_path):
    """Killed after 4 signal queries: the signals fetched before stay, the report names Prometheus."""
    with SecondPrometheus(stack, tmp_path / "prom2").start() as prom:

        def kill_after_four(path: str, n: int) -> None:
            if path == "/api/v1/query_range" and n == 5 and prom.alive():
                prom.kill()
                proxy.refuse()

        with FaultProxy(prom.url, before_forward=kill_after_four) as proxy:
            out, incident, elapsed = diagnose_json(proxy.url, stack.loki_url, budget=120, window="now-5m")
        assert not prom.alive(), "the fault was never injected (fewer than 5 signal queries?)"
    assert out.returncode == PARTIAL
    metrics = reports(incident)["metrics"]
    assert metrics["status"] == "error"
    assert f"prometheus at {proxy.url}" in metrics["message"]
    assert "so no data for" in metrics["message"]  # says which signals are missing
    assert any(
        line.startswith("warning: metrics:") and f"prometheus at {proxy.url}" in line
        for line in out.stderr.splitlines()
    )
    assert reports(incident)["logs"]["status"] in ("ok", "partial")  # Loki was fine: logs are there
    assert incident["brokers"] == ["1", "2", "3"]
    assert elapsed < 60


def test_prometheus_stopped_service_layer(stack, tmp_path):
    """The same through the service layer (MCP tools and the UI call it): a partial Diagnosis, no raise."""
    with SecondPrometheus(stack, tmp_path / "prom2").start() as prom:
        source = LiveSource(prom.url, loki_url=stack.loki_url, timeout=5)
        source.brokers()  # layout detected while it was up
        prom.kill()
        diagnosis, elapsed = timed_service(source, "now-5m")
    by_source = {r.source: r for r in diagnosis.incident.sources}
    assert by_source["metrics"].status == "error"
    assert "cannot connect" in by_source["metrics"].message and prom.url in by_source["metrics"].message
    assert not diagnosis.logs.empty, "the logs were not pulled although Loki was up"
    assert elapsed < 30


def test_prometheus_slow_beyond_timeout(stack):
    """Every answer held 60 s: one timeout (not one per stage or signal), then the logs still come."""
    with FaultProxy(stack.prometheus_url, delay_s=60) as proxy:
        out, incident, elapsed = diagnose_json(proxy.url, stack.loki_url, budget=120)
    assert out.returncode == PARTIAL
    metrics = reports(incident)["metrics"]
    assert metrics["status"] == "error"
    assert f"prometheus at {proxy.url}" in metrics["message"] and "timed out" in metrics["message"]
    assert reports(incident)["logs"]["status"] in ("ok", "partial")
    assert set(incident["brokers"]) == {"1", "2", "3"}  # taken from the log streams
    assert elapsed < TIMEOUT + 30


def test_prometheus_slow_queries_only_service_layer(stack):
    """Layout detection is quick but every range query hangs: bounded by one timeout, not 38."""
    with FaultProxy(stack.prometheus_url, delay_s=60, delay_paths=("/api/v1/query_range",)) as proxy:
        source = LiveSource(proxy.url, loki_url=stack.loki_url, timeout=3)
        diagnosis, elapsed = timed_service(source)
        sent = proxy.total("/api/v1/query_range")
    metrics = {r.source: r for r in diagnosis.incident.sources}["metrics"]
    assert metrics.status == "error" and "timed out" in metrics.message
    assert sent <= 2, f"{sent} range queries sent to a server that had already timed out"
    assert elapsed < 3 * 3 + 20


# -- Loki -------------------------------------------------------------------------------------


def test_loki_stopped(stack, tmp_path):
    """A real Loki killed before the diagnosis: metrics diagnosis complete, logs reported missing."""
    dead = _start_and_kill_loki(tmp_path)
    out, incident, elapsed = diagnose_json(stack.prometheus_url, dead, budget=120)
    assert out.returncode == PARTIAL
    logs = reports(incident)["logs"]
    assert logs["status"] == "error"
    assert f"loki at {dead}" in logs["message"] and "connection refused" in logs["message"]
    assert reports(incident)["metrics"]["status"] in ("ok", "partial")
    assert "warning: logs: loki at" in out.stderr
    assert elapsed < 60


def test_loki_gone_mid_pull_keeps_the_pages_read(stack):
    """Loki stops answering after two pages (the proxy stops listening): those lines stay."""

    def stop_after_two_pages(path: str, n: int) -> None:
        if path == "/loki/api/v1/query_range" and n == 3:
            proxy.refuse()
            raise ConnectionAbortedError  # this request dies with the server, too

    with FaultProxy(stack.loki_url, before_forward=stop_after_two_pages) as proxy:
        source = LiveSource(stack.prometheus_url, loki_url=proxy.url, timeout=5)
        source.loki.page_limit = 200  # several pages even on a quiet stack
        diagnosis, elapsed = timed_service(source)
    logs = {r.source: r for r in diagnosis.incident.sources}["logs"]
    assert logs.status == "error"
    kept = int(re.match(r"(\d+) lines kept; lines after \S+ are missing: ", logs.message).group(1))
    assert f"loki at {proxy.url}" in logs.message
    assert 200 < kept <= 400 and len(diagnosis.logs) == kept  # two pages, less entries read twice at the seam
    assert {r.source: r for r in diagnosis.incident.sources}["metrics"].status in ("ok", "partial")
    assert elapsed < 45


def test_loki_rate_limited_by_its_own_limit(stack, tmp_path):
    """Loki's query-frontend with max outstanding requests 0 answers 429 to everything."""
    with LokiFrontend(tmp_path / "loki-fe").start() as frontend:
        out, incident, elapsed = diagnose_json(stack.prometheus_url, frontend.url, budget=120)
        source = LiveSource(stack.prometheus_url, loki_url=frontend.url, timeout=5)
        diagnosis, service_elapsed = timed_service(source)
        with pytest.raises(SourceError, match="loki at .*HTTP 429.*too many outstanding requests"):
            service.pull_logs(source, "now-10m", "now")  # what the MCP pull_logs tool turns into a tool error
    assert out.returncode == PARTIAL
    logs = reports(incident)["logs"]
    assert logs["status"] == "error"
    assert "HTTP 429" in logs["message"] and "too many outstanding requests" in logs["message"]
    assert f"loki at {frontend.url}" in logs["message"]
    assert reports(incident)["metrics"]["status"] in ("ok", "partial")
    assert {r.source: r for r in diagnosis.incident.sources}["logs"].status == "error"
    assert not diagnosis.metrics.empty
    assert elapsed < 60 and service_elapsed < 45


def test_streamlit_live_page_with_loki_down_shows_the_rest(stack, tmp_path):
    """The page in live mode: the metrics diagnosis is shown, with an error naming Loki."""
    from streamlit.testing.v1 import AppTest

    dead = _start_and_kill_loki(tmp_path)
    app = AppTest.from_file(str(REPO / "app" / "ui" / "Home.py"), default_timeout=120)
    app.query_params["prometheus"] = stack.prometheus_url
    app.query_params["loki"] = dead
    app.query_params["from"] = "now-10m"
    t0 = time.monotonic()
    app.run()
    elapsed = time.monotonic() - t0
    assert not app.exception, app.exception
    errors = " ".join(e.value for e in app.error)
    assert f"logs: loki at {dead}: cannot connect" in errors
    assert not any(e.value.startswith("metrics:") for e in app.error)
    assert not any(s.value.startswith("Quiet:") for s in app.success)  # never a green light without logs
    assert elapsed < 90


def test_loki_429_with_huge_retry_after_recovers_quickly(stack):
    """Two 429s saying 'Retry-After: 3600', then the real Loki: complete result, no hour-long sleep."""
    with FaultProxy(stack.loki_url, status=429, status_times=2, retry_after="3600") as proxy:
        out, incident, elapsed = diagnose_json(stack.prometheus_url, proxy.url, budget=120)
        assert proxy.answered_status == 2
    assert out.returncode == 0, out.stderr
    assert reports(incident)["logs"]["status"] in ("ok", "partial")
    assert elapsed < 60


def test_unknown_cluster_is_a_usage_error_listing_the_known_ones(stack):
    out, elapsed = cli(
        "diagnose",
        "--prometheus",
        stack.prometheus_url,
        "--loki",
        stack.loki_url,
        "--cluster",
        'nosuch"}',
        "--no-llm",
        budget=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"error: prometheus at {stack.prometheus_url}: cluster 'nosuch\"}}' is not in this "
        f"Prometheus (label cluster); clusters there: {stack.cluster}; fix --cluster"
    )
    source = LiveSource(stack.prometheus_url, loki_url=stack.loki_url, cluster="nosuch")
    with pytest.raises(service.BadRequest, match=f"clusters there: {stack.cluster}"):
        service.diagnose_window(source, "now-5m", "now")


# -- Kafka admin ------------------------------------------------------------------------------


def test_kafka_unreachable_for_admin_view(stack):
    dead = f"127.0.0.1:{free_port()}"
    source = LiveSource(stack.prometheus_url, bootstrap_servers=dead, timeout=5)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=f"kafka at {dead}: cannot connect"):
        source.admin_view()
    assert time.monotonic() - t0 < 20

    out, elapsed = cli(
        "check",
        "--prometheus",
        stack.prometheus_url,
        "--loki",
        stack.loki_url,
        "--kafka",
        dead,
        "--timeout",
        "5",
        budget=60,
    )
    assert out.returncode == 1
    assert f"Kafka {dead}: FAILED: kafka at {dead}: cannot connect" in out.stdout
    assert "Prometheus" in out.stdout and ": OK" in out.stdout  # what did work is still shown
    assert "brokers        1, 2, 3" in out.stdout
    assert elapsed < 40


def test_dead_bootstrap_node_before_live_ones(stack):
    """One unreachable node first in the bootstrap list: the admin view still comes from the others."""
    bootstrap = f"127.0.0.1:{free_port()}," + stack.bootstrap_servers
    source = LiveSource(stack.prometheus_url, bootstrap_servers=bootstrap, timeout=10)
    t0 = time.monotonic()
    try:
        view = source.admin_view(groups=False)
    finally:
        source.admin.close()
    assert sorted(b.id for b in view.brokers) == ["1", "2", "3"]
    assert view.cluster_id and view.controller in {"1", "2", "3"}
    assert time.monotonic() - t0 < 30


def test_hung_broker_first_in_bootstrap_list(stack):
    """Broker 1 SIGSTOPped (accepts connections, never answers), listed first: the view still comes."""
    import signal

    victim = stack.broker_ids[0]
    stack.stop_node(victim, signal.SIGSTOP)
    try:
        source = LiveSource(stack.prometheus_url, bootstrap_servers=stack.bootstrap_servers, timeout=5)
        t0 = time.monotonic()
        try:
            view = source.admin_view(groups=True)
        finally:
            source.admin.close()
        elapsed = time.monotonic() - t0
        print(f"\nadmin view with broker {victim} hung: {elapsed:.1f}s; problems: {view.problems}")
    finally:
        stack.resume_node(victim)
        deadline = time.monotonic() + 120
        while victim not in stack.live_brokers() and time.monotonic() < deadline:
            time.sleep(1)
    assert {"2", "3"} <= {b.id for b in view.brokers}
    assert view.cluster_id
    assert elapsed < 5 * 8  # bootstrap fallback + one retried call + group listing, each bounded


def _start_and_kill_loki(tmp_path: Path) -> str:
    """A real Loki on a free port, ready, then SIGKILLed: connections are refused from then on."""
    import dataclasses
    import signal

    import requests

    from stack import templates
    from stack.config import StackConfig
    from stack.install import artifacts
    from tests.fault_servers import _Server

    server = _Server(tmp_path / "loki-dead")
    server.name = "loki"
    port, url = server.port, server.url
    cfg = dataclasses.replace(StackConfig(), loki_port=port, loki_grpc_port=free_port())
    config = server.workdir / "loki.yaml"
    config.write_text(templates.loki_config(cfg, server.workdir / "data"))
    server._spawn([str(artifacts().loki), f"-config.file={config}"])
    try:
        server._wait("/ready", lambda: requests.get(f"{url}/ready", timeout=3).status_code == 200, 60)
    finally:
        server.kill(signal.SIGKILL)
    return url
