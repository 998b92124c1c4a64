"""The taxonomy on the real stack's own logs (Kafka 4.3.1 KRaft, 3 nodes) and through real Loki.

Proves: every file the brokers write is classified with a small unknown share (reported per
file); the shipper's joined multi-line records come back from Loki and become one event each
through `pipeline.classify_frame`; the LogQL of a class (`taxonomy.logql_for`) selects real lines
of that class.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import taxonomy
from app.logql import LogLabels
from app.model import Window
from app.pipeline import classify_frame
from app.sources.loki import LokiClient, entries_frame

pytestmark = pytest.mark.integration

MAX_UNKNOWN_SHARE = 0.02


@pytest.fixture(scope="module")
def stack(request):
    """The stack helper's `real_stack` fixture when it exists; otherwise attach to or start the stack."""
    try:
        return request.getfixturevalue("real_stack")
    except pytest.FixtureLookupError:
        pass
    from stack.runtime import Stack, StackNotRunning

    try:
        running = Stack.attach()
        if running.is_running():
            running.wait_healthy(timeout=180)
            return running
    except StackNotRunning:
        pass
    started = Stack()
    started.start(timeout=300)
    request.addfinalizer(started.stop)
    return started


def _log_files(stack) -> list[Path]:
    files = []
    for node in stack.broker_ids:
        files += sorted(p for p in Path(stack.node_log_dir(node)).glob("*.log") if p.stat().st_size)
    return files


def test_every_broker_log_file_is_classified(stack) -> None:
    files = _log_files(stack)
    assert any(f.name == "server.log" for f in files) and any(f.name == "kafkaServer-gc.log" for f in files)
    report = []
    for path in files:
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        events = taxonomy.classify_many(lines)
        unknown = sum(e.event_class == taxonomy.UNKNOWN for e in events)
        report.append((path, len(lines), unknown / len(lines)))
    print(
        "\n".join(
            f"{p.parent.parent.name}/{p.name}: {n} lines, {share:.2%} unknown" for p, n, share in report
        )
    )
    for path, n, share in report:
        assert share <= MAX_UNKNOWN_SHARE, f"{path}: {share:.1%} of {n} lines unknown"


def test_start_up_milestones_are_classified_per_broker(stack) -> None:
    for node in stack.broker_ids:
        # server.log rolls hourly (log4j's pattern), so the start-up lines can sit in a rolled file.
        lines = [
            line
            for path in sorted(Path(stack.node_log_dir(node)).glob("server.log*"))
            for line in path.read_text(encoding="utf-8").splitlines()
        ]
        events = taxonomy.classify_many(lines)
        started = [
            e for e in events if e.event_class == "broker_startup" and "Kafka Server started" in e.line
        ]
        assert started and all(e.broker == str(node) for e in started)
        assert any(e.event_class == "controller_change" for e in events)  # Recorded new KRaft controller


def test_loki_records_become_one_event_each_and_class_logql_selects_real_lines(stack) -> None:
    client = LokiClient(stack.loki_url, timeout=10)
    window = Window(datetime.now(UTC) - timedelta(hours=6), datetime.now(UTC))
    labels = LogLabels(cluster_label="cluster")
    entries, _truncated, _ = client.query_range('{broker=~".+"} |= "Config values"', window, max_lines=200)
    assert entries, "the shipper sends the brokers' config dumps to Loki at start-up"
    events = classify_frame(entries_frame(entries, labels))
    dumps = [e for e in events if e.event_class == "config_dump"]
    assert dumps and all(e.line.count("\n") > 10 for e in dumps)  # header + `key = value` lines, one event

    for cls in ("broker_startup", "controller_change", "raft_leader_change"):
        logql = taxonomy.logql_for(cls)
        entries, _truncated, _ = client.query_range(logql, window, max_lines=500)
        assert entries, f"{logql} returned nothing"
        classes = {e.event_class for e in classify_frame(entries_frame(entries, labels))}
        assert cls in classes, f"{logql} returned lines of {sorted(classes)} only"
