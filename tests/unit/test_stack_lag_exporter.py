"""The lag exporter's exposition: kafka_exporter's names, labels and lag arithmetic."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from stack.lag_exporter import Snapshot, build_families, lag


def scrape(snapshot: Snapshot) -> dict[str, list]:
    class Fixed:
        def collect(self):
            return build_families(snapshot)

    registry = CollectorRegistry()
    registry.register(Fixed())
    text = generate_latest(registry).decode()
    return {fam.name: fam.samples for fam in text_string_to_metric_families(text)}


def test_lag_is_end_minus_committed_and_never_negative():
    assert lag(100, 40) == 60
    assert lag(100, 120) == 0
    assert lag(None, 5) is None
    assert lag(100, -1) is None  # no committed offset: kafka_exporter reports no lag either


def test_exposition_uses_kafka_exporter_names_and_labels():
    s = Snapshot(
        brokers=[(1, "127.0.0.1:19092"), (2, "127.0.0.1:19102")],
        partitions={"orders": 2},
        end={("orders", 0): 100, ("orders", 1): 50},
        start={("orders", 0): 0, ("orders", 1): 0},
        leader={("orders", 0): 1, ("orders", 1): 2},
        replicas={("orders", 0): 3, ("orders", 1): 3},
        isr={("orders", 0): 3, ("orders", 1): 2},
        committed={("billing", "orders", 0): 70, ("billing", "orders", 1): 50},
        members={"billing": 2},
        ok=True,
    )
    m = scrape(s)
    assert m["kafka_brokers"][0].value == 2
    lags = {x.labels["partition"]: x.value for x in m["kafka_consumergroup_lag"]}
    assert lags == {"0": 30, "1": 0}
    assert m["kafka_consumergroup_lag"][0].labels.keys() == {"consumergroup", "topic", "partition"}
    assert m["kafka_consumergroup_lag_sum"][0].value == 30
    assert m["kafka_consumergroup_current_offset_sum"][0].value == 120
    urp = {x.labels["partition"]: x.value for x in m["kafka_topic_partition_under_replicated_partition"]}
    assert urp == {"0": 0, "1": 1}
    assert {x.labels["partition"]: x.value for x in m["kafka_topic_partition_current_offset"]} == {
        "0": 100,
        "1": 50,
    }
    assert m["kafka_consumergroup_members"][0].value == 2


def test_empty_snapshot_still_reports_zero_brokers():
    m = scrape(Snapshot())
    assert m["kafka_brokers"][0].value == 0
    assert m["kafka_consumergroup_lag"] == []
