"""The Streamlit app in a real headless Chromium (Debian's), driven by Playwright.

The server is started by the fixture on a free port over a samples folder holding the
shipped sample bundles plus one bundle whose log lines carry HTML, to prove data text is
never rendered as markup.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from app.bundle import read_bundle, write_bundle
from tests.synthetic_bundle import make_bundle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HOSTILE = '<img src="x" id="pwned" onerror="document.title=1"> <script>document.title="pwned"</script>'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def samples_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    for bundle in sorted((ROOT / "samples").iterdir()):
        if (bundle / "manifest.json").is_file():
            shutil.copytree(bundle, root / bundle.name)
    hostile = make_bundle(root / "zz_hostile")
    data = read_bundle(hostile)
    logs = data.logs.copy()
    first = logs["ts"].min()
    logs.loc[len(logs)] = [
        first,
        "1",
        json.dumps({"broker": "1"}),
        f"[{first:%Y-%m-%d %H:%M:%S},000] ERROR {HOSTILE} (kafka.x)",
    ]
    logs["ts"] = pd.to_datetime(logs["ts"], utc=True)
    write_bundle(hostile, data.manifest, data.metrics, logs, data.ground_truth)
    return root


def _start_app(env_extra: dict[str, str], log_dir: Path):
    """Start `streamlit run` on a free port; return (process, url) once it is healthy."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `python -m stack install` (it installs Debian's chromium)")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    for name in ("PROMETHEUS_URL", "LOKI_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        if name not in env_extra:
            env.pop(name, None)
    log = (log_dir / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app/ui/Home.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                return process, url
        except requests.RequestException:
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"streamlit did not become healthy in 60 s; see {log.name}")


def _stop_app(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def app_url(samples_dir, tmp_path_factory) -> str:
    process, url = _start_app({"KIL_SAMPLES_DIR": str(samples_dir)}, tmp_path_factory.mktemp("streamlit"))
    yield url
    _stop_app(process)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.wait_for_selector("text=Kafka Incident Lens")
    return page


def _first_incident_bundle(samples_dir: Path) -> str:
    for bundle in sorted(samples_dir.iterdir()):
        truth = bundle / "ground_truth.json"
        if truth.is_file() and json.loads(truth.read_text())["cause"] not in ("none", "quiet"):
            return bundle.name
    pytest.fail("no incident bundle with ground truth under samples/")


def test_incident_view_from_a_grafana_link(browser, app_url, samples_dir):
    bundle = _first_incident_bundle(samples_dir)
    start = read_bundle(samples_dir / bundle).manifest.window.start
    start_ms = int(start.timestamp() * 1000)
    started = time.perf_counter()
    page = _open(browser, f"{app_url}/?bundle={bundle}&broker=all&from={start_ms}")
    page.wait_for_selector("text=Incident:")
    page.wait_for_selector(".js-plotly-plot")  # the signal panels
    first_render = time.perf_counter() - started
    # Second view: server warm (modules imported), diagnosis not cached (another broker).
    started = time.perf_counter()
    warm = _open(browser, f"{app_url}/?bundle={bundle}&broker=1&from={start_ms}")
    warm.wait_for_selector("text=Incident:")
    warm.wait_for_selector(".js-plotly-plot")
    warm_render = time.perf_counter() - started
    warm.close()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "ui-first-render.txt").write_text(
        f"{bundle}: summary and signal panels visible {first_render:.2f} s after navigation (cold server), "
        f"{warm_render:.2f} s for another broker on a warm server\n"
    )
    print(f"time to first render: cold {first_render:.2f} s, warm {warm_render:.2f} s")
    # The page writes the resolved window back so the view can be shared.
    page.wait_for_function("() => window.location.search.includes('to=')")
    assert "from=" in page.url and f"bundle={bundle}" in page.url

    page.get_by_role("tab", name="Note").click()
    page.wait_for_selector("text=Download note (.md)")
    page.get_by_role("tab", name="Log timeline").click()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")  # the timeline
    page.screenshot(path=str(ROOT / "test-artifacts" / "app-incident.png"), full_page=True)
    page.close()


def test_broker_choice_and_bad_window_in_the_url(browser, app_url, samples_dir):
    bundle = _first_incident_bundle(samples_dir)
    page = _open(browser, f"{app_url}/?bundle={bundle}&broker=2&from=yesterday-ish")
    page.wait_for_selector("text=Window not understood")
    assert page.locator("text=Traceback").count() == 0
    page.close()


def test_log_lines_are_never_rendered_as_html(browser, app_url):
    page = _open(browser, f"{app_url}/?bundle=zz_hostile&broker=1")
    page.wait_for_selector("text=Incident:")
    for tab in ("Log timeline", "Evidence", "Note"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
    assert page.locator("#pwned").count() == 0
    assert page.title() != "pwned" and page.title() != "1"
    page.close()


@pytest.mark.integration
def test_live_mode_on_the_real_stack(browser, real_stack, tmp_path):
    env = {
        "PROMETHEUS_URL": real_stack.prometheus_url,
        "LOKI_URL": real_stack.loki_url,
        "KAFKA_BOOTSTRAP_SERVERS": real_stack.bootstrap_servers,
    }
    process, url = _start_app(env, tmp_path)
    try:
        page = _open(browser, f"{url}/?broker=all&from=now-10m&to=now")
        page.wait_for_selector("text=/Incident:|Quiet:|Inconclusive/")
        page.wait_for_function("() => window.location.search.includes('cluster=')")
        page.get_by_role("tab", name="Now").click()
        page.wait_for_selector("text=Under-replicated partitions")
        page.wait_for_selector("text=active controller")
        page.screenshot(path=str(ROOT / "test-artifacts" / "app-live.png"), full_page=True)
        page.close()
    finally:
        _stop_app(process)
