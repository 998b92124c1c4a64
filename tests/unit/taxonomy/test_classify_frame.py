"""pipeline.classify_frame: records joined per stream, stream facts fill the gaps, time order kept."""

from __future__ import annotations

import json

import pandas as pd

from app.pipeline import classify_frame


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([r[0] for r in rows], utc=True),
            "broker": pd.Series([r[1] for r in rows], dtype="string"),
            "labels": pd.Series([r[2] for r in rows], dtype="string"),
            "line": pd.Series([r[3] for r in rows], dtype="string"),
        }
    )


def test_records_are_joined_per_stream_even_when_streams_interleave() -> None:
    s1 = json.dumps({"broker": "1", "filename": "/logs/server.log"})
    s2 = json.dumps({"broker": "2", "filename": "/logs/server.log"})
    frame = _frame(
        [
            (
                "2026-12-04T23:50:00.000Z",
                "1",
                s1,
                "[2026-12-04 23:50:00,000] ERROR Error while accepting connection (kafka.network.DataPlaneAcceptor)",  # noqa: E501 (a real log line reads best whole)
            ),
            (
                "2026-12-04T23:50:00.001Z",
                "2",
                s2,
                "[2026-12-04 23:50:00,001] INFO [Partition t-0 broker=2] Shrinking ISR from 2,3 to 2. Leader: (highWatermark: 1, endOffset: 2). (kafka.cluster.Partition)",  # noqa: E501 (a real log line reads best whole)
            ),
            ("2026-12-04T23:50:00.002Z", "1", s1, "java.io.IOException: Too many open files"),
            (
                "2026-12-04T23:50:00.003Z",
                "1",
                s1,
                "\tat kafka.network.Acceptor.accept(SocketServer.scala:661)",
            ),
            (
                "2026-12-04T23:50:01.000Z",
                "1",
                s1,
                "[2026-12-04 23:50:01,000] INFO [BrokerServer id=1] Waiting for the broker to be unfenced (kafka.server.BrokerServer)",  # noqa: E501 (a real log line reads best whole)
            ),
        ]
    )
    events = classify_frame(frame)
    assert [e.event_class for e in events] == ["too_many_open_files", "isr_shrink", "other_info"]
    fd = events[0]
    assert fd.source_broker == "1" and fd.filename == "/logs/server.log" and fd.line.count("\n") == 2
    assert (events[1].source_broker, events[1].broker, events[1].isr_to) == ("2", "2", [2])


def test_shipper_joined_entry_is_one_event_and_frame_time_fills_missing_ts() -> None:
    entry = "\n".join(
        [
            "[2026-12-04 23:50:00,000] ERROR [ReplicaManager broker=1] Error processing append operation on partition orders-1 (kafka.server.ReplicaManager)",  # noqa: E501 (a real log line reads best whole)
            "org.apache.kafka.common.errors.NotEnoughReplicasException: The size of the current ISR Set(1) is insufficient to satisfy the min.isr requirement of 2 for partition orders-1",  # noqa: E501 (a real log line reads best whole)
        ]
    )
    frame = _frame(
        [
            ("2026-12-04T23:50:00Z", "1", "{}", entry),
            ("2026-12-04T23:50:05Z", "1", "{}", "no layout at all"),
        ]
    )
    events = classify_frame(frame)
    assert [e.event_class for e in events] == ["under_replicated", "unknown"]
    assert events[0].isr_to == [1] and events[0].topic == "orders"
    assert events[1].ts == pd.Timestamp("2026-12-04T23:50:05Z").to_pydatetime()


def test_empty_frame() -> None:
    assert classify_frame(_frame([])) == []


def test_missing_broker_in_a_plain_str_column_is_no_broker() -> None:
    """pandas' default "str" columns hold NaN for a missing value: not a broker named 'nan'."""
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-12-04T23:50:00Z", "2026-12-04T23:50:01Z"], utc=True),
            "broker": pd.Series([None, "2"], dtype="str"),
            "labels": pd.Series([None, "{}"], dtype="str"),
            "line": pd.Series(["no layout at all", "still none"], dtype="str"),
        }
    )
    events = classify_frame(frame)
    assert [e.source_broker for e in events] == [None, "2"]
