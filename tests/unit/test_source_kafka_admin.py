import pytest

from app.sources.base import SourceUnavailable
from app.sources.kafka_admin import (
    GroupLag,
    KafkaAdmin,
    brokers_from_cluster,
    group_lag,
    partitions_from_metadata,
)


class TP:
    def __init__(self, topic, partition):
        self.topic, self.partition = topic, partition

    def __hash__(self):
        return hash((self.topic, self.partition))

    def __eq__(self, other):
        return (self.topic, self.partition) == (other.topic, other.partition)


class Offset:
    def __init__(self, offset):
        self.offset = offset


def test_cluster_and_topic_metadata_become_typed_records():
    brokers, controller, cluster_id = brokers_from_cluster(
        {
            "cluster_id": "abc",
            "controller_id": 3,
            "brokers": [
                {"broker_id": 2, "host": "h", "port": 2, "rack": None, "is_fenced": False},
                {"broker_id": 10, "host": "h", "port": 10, "rack": "r", "is_fenced": True},
                {"broker_id": 1, "host": "h", "port": 1},
            ],
        }
    )
    assert [b.id for b in brokers] == ["1", "2", "10"] and brokers[2].fenced
    assert (controller, cluster_id) == ("3", "abc")
    assert brokers_from_cluster({"controller_id": -1, "brokers": []})[1] is None

    parts, problems = partitions_from_metadata(
        [
            {
                "name": "t",
                "error_code": 0,
                "is_internal": False,
                "partitions": [
                    {"partition_index": 1, "leader_id": -1, "replica_nodes": [1, 2, 3], "isr_nodes": []},
                    {"partition_index": 0, "leader_id": 2, "replica_nodes": [2, 3, 1], "isr_nodes": [2, 3]},
                ],
            },
            {"name": "bad", "error_code": 3, "partitions": []},
        ]
    )
    assert [(p.partition, p.under_replicated, p.offline) for p in parts] == [
        (0, True, False),
        (1, True, True),
    ]
    assert problems == ["topic bad: error code 3"]


def test_group_lag_skips_partitions_without_a_commit():
    committed = {TP("t", 0): Offset(10), TP("t", 1): Offset(-1), TP("t", 2): Offset(5)}
    ends = {TP("t", 0): Offset(25), TP("t", 1): Offset(7), TP("t", 2): Offset(5)}
    rows = group_lag("g", committed, ends)
    assert rows == [GroupLag("g", "t", 0, 10, 25), GroupLag("g", "t", 2, 5, 5)]
    assert [r.lag for r in rows] == [15, 0]


def test_unreachable_kafka_is_a_clear_source_error():
    def refuse():
        raise ConnectionRefusedError("Unable to bootstrap from 127.0.0.1:9")

    admin = KafkaAdmin("127.0.0.1:9", timeout=1, client_factory=refuse)
    with pytest.raises(
        SourceUnavailable, match=r"kafka at 127.0.0.1:9: cannot connect .*Unable to bootstrap"
    ):
        admin.view()


def test_a_failing_call_names_what_failed():
    class Broken:
        def describe_cluster(self):
            raise TimeoutError("Timeout waiting for future")

    admin = KafkaAdmin("127.0.0.1:9092", client_factory=Broken)
    with pytest.raises(SourceUnavailable, match="describe cluster failed .*Timeout waiting"):
        admin.view()


def test_no_bootstrap_servers_is_a_usage_error():
    with pytest.raises(ValueError, match="KAFKA_BOOTSTRAP_SERVERS"):
        KafkaAdmin("")


def test_the_now_view_is_json_ready_and_capped():
    import json

    from app.sources.kafka_admin import AdminView, BrokerInfo, PartitionInfo

    parts = [PartitionInfo("t", i, 1 if i else -1, [1, 2], [1]) for i in range(5)]
    view = AdminView(
        "c", "1", [BrokerInfo("1", "h", 1), BrokerInfo("2", "h", 2)], parts, [GroupLag("g", "t", 0, 1, 11)]
    )
    data = json.loads(json.dumps(view.to_dict(max_partitions=2)))
    assert data["under_replicated_count"] == 5 and len(data["under_replicated"]) == 2
    assert data["offline_count"] == 1 and data["offline"][0]["partition"] == 0
    assert data["leaders_per_broker"] == {"1": 4, "2": 0}
    assert data["lagging_groups"] == {"g": 10}


def test_a_node_whose_request_timed_out_is_not_picked_again():
    """kafka-python resets a hung node's backoff after its failed set-up; the hook re-applies it."""
    from kafka.errors import RequestTimedOutError
    from kafka.future import Future

    from app.sources.kafka_admin import _shun_nodes_that_time_out

    class Manager:
        def __init__(self):
            self.backoff: set[int] = set()
            self.sent: list[int] = []

        def least_loaded_node(self):
            return min({1, 2, 3} - self.backoff)  # node 1 first, like an unlucky random pick

        def update_backoff(self, node):
            self.backoff.add(node)

        def send(self, request, node_id=None, **kwargs):
            self.sent.append(node_id)
            return Future()

    class Admin:
        _manager = Manager()

    admin = _shun_nodes_that_time_out(Admin())
    manager = admin._manager
    manager.send("describe").failure(RequestTimedOutError("after 9999 ms"))
    manager.backoff.clear()  # what the library does once the hung node's set-up gives up
    manager.send("describe again")
    manager.send("to node 1 on purpose", node_id=1)
    assert manager.sent == [1, 2, 1]
