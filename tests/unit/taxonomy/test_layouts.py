"""Wrappers users bring around Kafka's text, and entity conventions of the classes note."""

from __future__ import annotations

import json

from app import taxonomy

SHRINK = "[Partition orders-1 broker=1] Shrinking ISR from 1,2,3 to 1"


def _check(line: str, **want) -> None:
    event = taxonomy.classify(line)
    got = {k: getattr(event, k) for k in want}
    assert got == want, line


def test_logstash_json_record() -> None:
    record = {
        "@timestamp": "2024-05-14T03:11:09.220Z",
        "level": "INFO",
        "logger_name": "kafka.cluster.Partition",
        "message": SHRINK,
    }
    _check(
        json.dumps(record),
        event_class="isr_shrink",
        severity="INFO",
        broker="1",
        isr_to=[1],
        logger="kafka.cluster.Partition",
    )
    assert taxonomy.classify(json.dumps(record)).ts.isoformat() == "2024-05-14T03:11:09.220000+00:00"


def test_logstash_json_with_stack_trace_field() -> None:
    record = {
        "level": "ERROR",
        "logger_name": "kafka.network.DataPlaneAcceptor",
        "message": "Error while accepting connection",
        "stack_trace": "java.io.IOException: Too many open files\n\tat x.y(Z.java:1)",
    }
    _check(json.dumps(record), event_class="too_many_open_files", severity="ERROR")


def test_docker_compose_v1_and_v2_prefixes() -> None:
    for prefix in ("kafka_1  | ", "kafka-1  | ", "kafka.1.abc@node1 | "):
        _check(
            f"{prefix}[2024-05-14 03:11:09,220] INFO {SHRINK} (kafka.cluster.Partition)",
            event_class="isr_shrink",
            broker="1",
        )


def test_logback_default_layout() -> None:
    line = (
        "12:34:56.789 [kafka-producer-network-thread | p1] WARN  org.apache.kafka.clients.NetworkClient - "
        "[Producer clientId=p1] Connection to node 3 (localhost/127.0.0.1:9094) could not be established. "
        "Node may not be available."
    )
    _check(line, event_class="connection_error", broker="3", severity="WARN")


def test_strimzi_with_gc_lines_interleaved() -> None:
    lines = [
        "2021-04-28 16:33:36,206 INFO [Partition t-0 broker=0] Shrinking ISR from 0,1 to 0 (kafka.cluster.Partition) [data-plane-kafka-request-handler-1]",  # noqa: E501
        "[2021-04-28T16:33:36.300+0000][gc,start    ] GC(5) Pause Young (Normal) (G1 Evacuation Pause)",
        "[2021-04-28T16:33:37.400+0000][gc          ] GC(5) Pause Young (Normal) (G1 Evacuation Pause) 700M->300M(1024M) 1100.5ms",  # noqa: E501
    ]
    assert [e.event_class for e in taxonomy.classify_many(lines)] == [
        "isr_shrink",
        "gc_info",
        "long_gc_pause",
    ]


def test_client_coordinator_id_is_converted_back_to_the_broker() -> None:
    line = (
        "[2024-01-01 00:00:00,000] INFO [Consumer clientId=c-1, groupId=orders] Group coordinator 127.0.0.1:19092 "  # noqa: E501
        "(id: 2147483645 rack: null) is unavailable or invalid due to cause: coordinator unavailable. "
        "isDisconnected: true. Rediscovery will be attempted. "
        "(org.apache.kafka.clients.consumer.internals.ConsumerCoordinator)"
    )
    _check(line, event_class="consumer_group_error", broker="2", group="orders")


def test_bootstrap_node_gives_no_broker_and_redacted_names_do_not_crash() -> None:
    _check(
        "[2024-01-01 00:00:00,000] WARN [Consumer clientId=c, groupId=g] Connection to node -1 "
        "(localhost/127.0.0.1:9092) could not be established. Node may not be available. "
        "(org.apache.kafka.clients.NetworkClient)",
        event_class="connection_error",
        broker=None,
    )
    _check(
        "[2024-01-01 00:00:00,000] INFO [Partition TOPIC_NAME-PARTITION-# broker=nodeid1] Shrinking ISR from 1,2 to 1 "  # noqa: E501
        "(kafka.cluster.Partition)",
        event_class="isr_shrink",
        topic=None,
        partition=None,
        broker=None,
    )


def test_zero_x_topic_partition_form_and_lists_are_not_one_partition() -> None:
    _check(
        "[2016-01-01 00:00:00,000] INFO [KafkaApi-1] Produce request with correlation id 5 from client c on partition "  # noqa: E501
        "[orders,3] failed due to Leader not local for partition [orders,3] on broker 1 (kafka.server.KafkaApis)",  # noqa: E501
        event_class="not_leader_error",
        topic="orders",
        partition=3,
        broker="1",
    )
    _check(
        "[2020-01-01 00:00:00,000] INFO [Controller id=1] Starting replica leader election (PREFERRED) for partitions "  # noqa: E501
        "t-0,t-1 triggered by AutoTriggered (kafka.controller.KafkaController)",
        event_class="leader_election",
        topic=None,
        partition=None,
    )


def test_levels_are_normalised() -> None:
    _check("2024-01-01 12:00:00,123 - kafka.conn - CRITICAL - boom", severity="ERROR")
    _check(
        "[2020-01-01 00:00:00,000] FATAL [KafkaServer id=1] Fatal error during KafkaServer startup. Prepare to shutdown "  # noqa: E501
        "(kafka.server.KafkaServer)",
        severity="ERROR",
        event_class="broker_startup_failed",
    )
