"""The log shipper's file handling: multi-line records, timestamps, rotation, truncation."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from stack.shipper import FileTail, parse_ts


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000) * 10**6


def test_parse_ts_reads_kafka_and_jvm_timestamps_as_utc():
    assert parse_ts("[2026-12-04 23:40:01,123] INFO x (y)") == ns("2026-12-04T23:40:01.123")
    assert parse_ts("[2026-12-04T23:40:01.123+0000][gc] GC(1) Pause") == ns("2026-12-04T23:40:01.123")
    assert parse_ts("[2026-12-04T23:40:01.123+0100][gc] x") == ns("2026-12-04T22:40:01.123")
    assert parse_ts("\tat kafka.Foo.bar(Foo.scala:1)") is None
    assert parse_ts("java.lang.IllegalStateException: boom") is None


def tail_for(path) -> FileTail:
    return FileTail(path, {"broker": "1"})


def test_stack_trace_lines_join_the_record_before_them(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(
        "[2026-12-04 23:40:01,000] INFO first (a)\n"
        "[2026-12-04 23:40:02,000] ERROR failed (b)\n"
        "java.lang.IllegalStateException: boom\n"
        "\tat kafka.Foo.bar(Foo.scala:1)\n"
        "[2026-12-04 23:40:03,000] INFO third (c)\n"
    )
    t = tail_for(log)
    t.poll(now=0.0)
    out = t.take()
    assert [ts for ts, _ in out] == [ns("2026-12-04T23:40:01"), ns("2026-12-04T23:40:02")]
    assert out[1][1].splitlines() == [
        "[2026-12-04 23:40:02,000] ERROR failed (b)",
        "java.lang.IllegalStateException: boom",
        "\tat kafka.Foo.bar(Foo.scala:1)",
    ]
    # The last record is held until the multi-line wait passes without more lines.
    t.poll(now=1e9)
    assert [line for _, line in t.take()] == ["[2026-12-04 23:40:03,000] INFO third (c)"]


def test_partial_lines_wait_for_their_newline(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("[2026-12-04 23:40:01,000] INFO par")
    t = tail_for(log)
    t.poll(now=1e9)
    assert t.take() == []
    with log.open("a") as f:
        f.write("tial (a)\n")
    t.poll(now=1e9)
    t.poll(now=2e9)
    assert [line for _, line in t.take()] == ["[2026-12-04 23:40:01,000] INFO partial (a)"]


def test_out_of_order_record_gets_the_streams_newest_time(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("[2026-12-04 23:40:05,000] INFO later (a)\n[2026-12-04 23:40:04,000] INFO earlier (b)\n")
    t = tail_for(log)
    t.poll(now=1e9)
    assert [ts for ts, _ in t.take()] == [ns("2026-12-04T23:40:05"), ns("2026-12-04T23:40:05")]


def test_rotation_finishes_the_old_file_then_reads_the_new_one(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("[2026-12-04 23:00:00,000] INFO old-1 (a)\n")
    t = tail_for(log)
    t.poll(now=1e9)
    with log.open("a") as f:
        f.write("[2026-12-04 23:59:59,000] INFO old-2 (a)\n")
    os.rename(log, tmp_path / "server.log.2026-12-04-23")
    log.write_text("[2026-12-05 00:00:00,000] INFO new-1 (a)\n")
    t.poll(now=1e9)
    t.poll(now=2e9)
    lines = [line.split()[3] for _, line in t.take()]
    assert lines == ["old-1", "old-2", "new-1"]


def test_truncation_restarts_from_the_beginning(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("[2026-12-04 23:00:00,000] INFO aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (a)\n")
    t = tail_for(log)
    t.poll(now=1e9)
    t.take()
    with log.open("r+") as f:
        f.truncate(0)
    with log.open("a") as f:
        f.write("[2026-12-04 23:00:01,000] INFO b (a)\n")
    t.poll(now=1e9)
    t.poll(now=2e9)
    assert [line for _, line in t.take()] == ["[2026-12-04 23:00:01,000] INFO b (a)"]


def test_a_backlog_is_pushed_in_bounded_batches_and_kept_on_failure(tmp_path, monkeypatch):
    from stack import shipper as mod

    cfg = {
        "loki_url": "http://127.0.0.1:9",
        "cluster": "c",
        "nodes": {},
        "positions": str(tmp_path / "p.json"),
    }
    s = mod.Shipper(cfg)
    labels = {"cluster": "c", "broker": "1", "job": "kafka", "filename": "/x/server.log"}
    s.queue = [(labels, i, "x" * 1000) for i in range(2500)]
    s.queued_bytes = 2500 * 1000
    sizes: list[int] = []
    outcomes = iter([True, True, False])
    monkeypatch.setattr(s, "_send", lambda batch: sizes.append(len(batch)) or next(outcomes))
    s.push(force=True)
    assert all(n * 1000 <= mod.MAX_BATCH_BYTES for n in sizes)
    assert len(s.queue) == 2500 - sizes[0] - sizes[1]  # the failed batch stays queued
    assert s.queue[0][1] == sizes[0] + sizes[1]
