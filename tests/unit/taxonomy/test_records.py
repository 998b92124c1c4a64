"""Multi-line records: per-line labels with context, one event per joined record, templates."""

from __future__ import annotations

from app import taxonomy

from .conftest import read_lines

T = "[2026-12-04 23:50:00,000]"


def records(lines: list[str]):
    return list(taxonomy.classify_records(lines))


def test_accept_error_with_too_many_open_files_is_one_event() -> None:
    lines = [
        f"{T} ERROR Error while accepting connection (kafka.network.DataPlaneAcceptor)",
        "java.io.IOException: Too many open files",
        "\tat java.base/sun.nio.ch.Net.accept(Native Method)",
        "\tat kafka.network.Acceptor.accept(SocketServer.scala:661)",
        f"{T} INFO next record (kafka.server.BrokerServer)",
    ]
    per_line = taxonomy.classify_many(lines)
    assert [e.event_class for e in per_line[:4]] == [
        "uncaught_exception",
        "too_many_open_files",
        "stack_trace",
        "stack_trace",
    ]
    assert per_line[1].severity == "ERROR"  # the exception line takes its record's level
    assert per_line[2].severity is None  # frames keep none
    out = records(lines)
    assert [(start, n) for start, n, _ in out] == [(0, 4), (4, 1)]
    event = out[0][2]
    assert event.event_class == "too_many_open_files"
    assert event.severity == "ERROR" and event.logger == "kafka.network.DataPlaneAcceptor"
    assert event.line.count("\n") == 3


def test_append_error_with_not_enough_replicas_is_under_replicated_with_isr() -> None:
    lines = [
        f"{T} ERROR [ReplicaManager broker=1] Error processing append operation on partition orders-1 (kafka.server.ReplicaManager)",  # noqa: E501 (a real log line reads best whole)
        "org.apache.kafka.common.errors.NotEnoughReplicasException: The size of the current ISR Set(1) is insufficient to satisfy the min.isr requirement of 2 for partition orders-1",  # noqa: E501 (a real log line reads best whole)
    ]
    ((_, _, event),) = records(lines)
    assert (event.event_class, event.broker, event.topic, event.partition, event.isr_to) == (
        "under_replicated",
        "1",
        "orders",
        1,
        [1],
    )


def test_fetcher_error_keeps_its_class_unless_not_leader() -> None:
    head = f"{T} ERROR [ReplicaFetcher replicaId=3, leaderId=1, fetcherId=0] Error for partition orders-0 at offset 10 (kafka.server.ReplicaFetcherThread)"  # noqa: E501 (a real log line reads best whole)
    ((_, _, io),) = records(
        [head, "java.io.IOException: Connection to 1 was disconnected before the response was read"]
    )
    assert (io.event_class, io.broker, io.peer) == ("replica_fetcher_error", "3", "1")
    ((_, _, nl),) = records(
        [
            head,
            "org.apache.kafka.common.errors.NotLeaderOrFollowerException: For requests intended only for the leader, this error indicates that the broker is not the current leader.",  # noqa: E501 (a real log line reads best whole)
        ]
    )
    assert nl.event_class == "not_leader_error"


def test_log_dir_header_with_disk_full_cause() -> None:
    lines = [
        f"{T} ERROR Error while appending records to orders-2 in dir /data/kafka (org.apache.kafka.storage.internals.log.LogDirFailureChannel)",  # noqa: E501 (a real log line reads best whole)
        "java.io.IOException: No space left on device",
    ]
    assert taxonomy.classify_many(lines)[0].event_class == "log_dir_failure"
    ((_, _, event),) = records(lines)
    assert (event.event_class, event.log_dir, event.topic) == ("disk_full", "/data/kafka", "orders")


def test_real_config_dump_is_one_event() -> None:
    lines = read_lines("kafka-4.3.1/startup-server.log")
    out = records(lines)
    dumps = [(start, n, e) for start, n, e in out if e.event_class == "config_dump"]
    assert dumps, "the 4.3.1 start-up excerpt holds config dumps"
    for start, n, event in dumps:
        assert n > 1
        if lines[start + n - 1].startswith(" ("):  # complete dump (the excerpt cuts one short)
            assert event.logger == "org.apache.kafka.common.config.AbstractConfig"  # from the trailer line
        assert all(line.startswith(("\t", " (")) for line in lines[start + 1 : start + n])
    assert sum(n for _, n, _ in out) == len(lines)


def test_log_cleaner_summary_keeps_parent_class() -> None:
    lines = [
        f"{T} INFO [kafka-log-cleaner-thread-0]: ",
        "\tLog cleaner thread 0 cleaned log __consumer_offsets-13 (dirty section = [0, 12])",
        "\t0.0 MB of log processed in 0.1 seconds (0.1 MB/sec).",
        "\tsomething new = x",
        " (org.apache.kafka.storage.internals.log.LogCleaner$CleanerThread)",
    ]
    assert {e.event_class for e in taxonomy.classify_many(lines)} == {"log_cleaner"}
    ((_, n, event),) = records(lines)
    assert n == 5 and event.event_class == "log_cleaner"


def test_real_jul_stdout_record_from_the_jmx_agent() -> None:
    lines = read_lines("kafka-4.3.1/stdout-jmx-exporter-jul.out")
    out = records(lines)
    assert len(out) == 2  # two JUL records, each with its trace
    assert all(e.event_class == "connection_error" for _, _, e in out)  # java.io.IOException: Broken pipe
    assert all(e.ts is not None for _, _, e in out)


def test_multiline_string_is_one_record() -> None:
    text = f"{T} ERROR Processor got uncaught exception. (kafka.network.Processor)\njava.lang.OutOfMemoryError: Direct buffer memory\n\tat x.y(Z.java:1)"  # noqa: E501 (a real log line reads best whole)
    assert taxonomy.classify(text).event_class == "out_of_memory"


def test_unknown_lines_become_counted_templates() -> None:
    lines = [
        f"{T} WARN [Foo id={i}] Brand new failure family number {i} on host 10.0.0.{i} (org.example.Foo)"
        for i in range(40)
    ]
    lines += [f"{T} ERROR Another mystery at offset {i} (org.example.Bar)" for i in range(10)]
    lines += [f"{T} INFO [Partition t-0 broker=1] Shrinking ISR from 1,2 to 1 (kafka.cluster.Partition)"]
    events = taxonomy.classify_many(lines)
    assert sum(e.event_class == taxonomy.UNKNOWN for e in events) == 50
    templates = taxonomy.group_unknown(events)
    assert [t.count for t in templates] == [40, 10]
    assert templates[0].severities == {"WARN": 40} and templates[0].loggers == {"Foo": 40}
    assert "Brand new failure family" in templates[0].template and "<NUM>" in templates[0].template
    assert templates[0].first is not None and templates[0].example.startswith(T)


def test_real_fetcher_error_record_from_broker_down() -> None:
    """4.3.1: WARN fetch error + `java.io.IOException: Connection to ... failed.` + frames = one fetcher event."""  # noqa: E501 (a real log line reads best whole)
    lines = read_lines("kafka-4.3.1/broker_down-server-1.log")
    out = records(lines)
    fetch = [e for _, n, e in out if "Error in response for fetch request" in e.line and n > 2]
    assert fetch
    for event in fetch:
        assert (event.event_class, event.broker, event.peer, event.severity) == (
            "replica_fetcher_error",
            "1",
            "2",
            "WARN",
        )
        assert "failed." in event.line.split("\n")[1]
    assert sum(n for _, n, _ in out) == len(lines)
    assert not [e for _, _, e in out if e.event_class in (taxonomy.UNKNOWN, "stack_trace")]


def test_real_under_min_isr_append_error_record() -> None:
    """4.3.1: `partition <topicId>:<tp>` header + NotEnoughReplicasException cause = one under_replicated event."""  # noqa: E501
    lines = read_lines("kafka-4.3.1/under_min_isr-server-3.log")
    events = [e for _, n, e in records(lines) if n > 1 and "Error processing append operation" in e.line]
    assert events
    for event in events:
        assert event.event_class == "under_replicated"
        assert event.broker == "3" and event.isr_to == [3] and event.topic in ("payments", "orders")
