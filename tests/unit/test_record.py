"""Pure parts of stack/record.py: the scenario catalog and Loki paging (no stack needed)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from app.model import Window
from stack import faults, record

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_catalog_scenarios_use_known_causes_and_cover_the_required_six():
    catalog = record.load_catalog()
    assert catalog["quiet"].cause == "none"
    required = {
        "broker_down",
        "broker_hung",
        "controller_failover",
        "consumer_stalled",
        "traffic_surge",
        "gc_pressure",
    }
    assert required <= set(catalog)
    for scenario in catalog.values():
        assert scenario.cause == "none" or scenario.cause in faults.CAUSES
        if scenario.cause != "none":
            fault = faults.make(scenario.cause)
            assert scenario.broker or not fault.needs_broker, scenario.name


def test_unknown_fault_is_a_clear_error():
    with pytest.raises(faults.FaultError, match="choose one of"):
        faults.make("disk_on_fire")


def _serve(lines_ns: list[int], page: int):
    """A loopback server that answers Loki query_range like Loki does: forward, start inclusive, capped."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            q = parse_qs(urlparse(self.path).query)
            start, end, limit = int(q["start"][0]), int(q["end"][0]), int(q["limit"][0])
            calls.append(start)
            entries = [(t, f"line {i}") for i, t in enumerate(lines_ns)]
            hits = [(t, text) for t, text in entries if start <= t < end][: min(limit, page)]
            body = {
                "status": "success",
                "data": {
                    "resultType": "streams",
                    "result": [
                        {
                            "stream": {"broker": "1", "filename": "server.log"},
                            "values": [[str(t), text] for t, text in hits],
                        }
                    ],
                },
            }
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def test_pull_logs_pages_past_the_cap_without_losing_or_repeating_lines(monkeypatch):
    base = int(START.timestamp() * 1e9)
    # 23 lines, three of them sharing one timestamp right at a page edge
    lines = (
        [base + i * 1_000_000 for i in range(10)]
        + [base + 10_000_000] * 3
        + [base + (11 + i) * 1_000_000 for i in range(10)]
    )
    server, calls = _serve(lines, page=5)
    monkeypatch.setattr(record, "LOKI_PAGE", 5)
    try:
        frame = record.pull_logs(
            f"http://127.0.0.1:{server.server_port}", Window(START, START + timedelta(seconds=10))
        )
    finally:
        server.shutdown()
    assert len(frame) == len(lines)
    assert frame["line"].is_unique
    assert len(calls) > 4  # it really paged
    assert list(frame["ts"]) == sorted(frame["ts"])
