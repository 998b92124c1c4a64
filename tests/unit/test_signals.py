import textwrap

import promql_parser
import pytest

from app.selectors import LabelConfig
from app.signals import LibraryError, load_library

ISSUE_COVERAGE = [
    "under_replicated_partitions",
    "under_min_isr_partitions",
    "offline_partitions",
    "isr_shrink_rate",
    "isr_expand_rate",
    "active_controller_count",
    "controller_changes",
    "unclean_leader_elections",
    "leader_count",
    "partition_count",
    "request_handler_idle",
    "network_processor_idle",
    "bytes_in_rate",
    "bytes_out_rate",
    "messages_in_rate",
    "produce_latency_p99",
    "fetch_consumer_latency_p99",
    "produce_request_rate",
    "fetch_request_rate",
    "log_flush_time_p99",
    "consumer_lag_sum",
    "consumer_lag_max_partition",
    "consumer_lag_growth",
    "consumer_lag_seconds",
    "gc_time_fraction",
    "gc_count_rate",
    "heap_used_ratio",
    "process_cpu",
    "open_fds",
    "raft_current_leader",
    "raft_current_epoch",
    "raft_commit_latency",
    "broker_up",
]


def test_library_covers_the_issue_and_every_query_parses_in_every_profile():
    lib = load_library()
    assert len(lib.signals) >= 25
    assert set(ISSUE_COVERAGE) <= set(lib.ids())
    assert set(lib.profiles) == {"jmx_kafka", "strimzi", "jmx_raw"}
    for name in lib.profiles:
        profile = lib.profile(name)
        for signal in lib.in_profile(name):
            for brokers in (None, ["1"], ["1", "2", "3"]):
                query = signal.render(profile, LabelConfig(cluster_label="cluster"), "prod", brokers, 30)
                promql_parser.parse(query)  # raises on invalid PromQL
                assert "$" not in query


def test_hostile_label_values_stay_inside_their_string():
    lib = load_library()
    profile = lib.profile("jmx_kafka")
    evil = 'x"} or vector(1) #\\'
    query = lib.signal("under_replicated_partitions").render(
        profile, LabelConfig(cluster_label="cluster"), cluster=evil, brokers=["1|.*", "2"]
    )
    parsed = promql_parser.parse(query)
    assert type(parsed).__name__ == "VectorSelector"  # no `or` expression smuggled in
    assert 'cluster="x\\"} or vector(1) #\\\\"' in query
    assert 'broker=~"1\\\\|\\\\.\\\\*|2"' in query


def test_profiles_rename_metrics_and_detection_picks_the_right_one():
    lib = load_library()
    strimzi = lib.profile("strimzi")
    assert "kafka_server_raftmetrics_current_leader" in lib.signal("raft_current_leader").render(strimzi)
    raw = lib.profile("jmx_raw")
    assert 'name="UnderReplicatedPartitions"' in lib.signal("under_replicated_partitions").render(raw)

    def names(profile):
        return set().union(*(s.metric_names(lib.profile(profile)) for s in lib.in_profile(profile)))

    for expected in lib.profiles:
        best, scores = lib.detect_profile(names(expected))
        assert best == expected, scores
    assert lib.detect_profile({"go_goroutines"})[0] is None


def test_kinds_map_every_signal():
    kinds = load_library().kinds()
    assert kinds["under_replicated_partitions"] == "level"
    assert kinds["consumer_lag_sum"] == "lag"
    assert set(kinds.values()) <= {"level", "rate", "gauge", "latency", "lag", "state"}


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "signals:\n  - {id: a, description: d, unit: u, kind: level, scope: broker, bad: {direction: up},"
            " promql: 'x', colour: red}",
            "colour",
        ),
        (
            "signals:\n  - {id: a, description: d, unit: u, kind: wobbly, scope: broker, "
            "bad: {direction: up},"
            " promql: 'x'}",
            "kind",
        ),
        (
            "signals:\n  - {id: a, description: d, unit: u, kind: level, scope: broker, bad: {direction: up},"
            " promql: 'x{$selector}'}",
            "$selector",
        ),
        (
            "signals:\n  - {id: a, description: d, unit: u, kind: level, scope: broker, bad: {direction: up},"
            " promql: 'x', overrides: {nosuch: 'y'}}",
            "nosuch",
        ),
        ("signal: []", "unknown top-level"),
    ],
)
def test_bad_yaml_is_rejected_with_a_message_naming_the_problem(tmp_path, body, message):
    (tmp_path / "p.yaml").write_text("profiles:\n  jmx_kafka: {description: d}\n")
    (tmp_path / "s.yaml").write_text(textwrap.dedent(body))
    with pytest.raises(LibraryError, match=message.replace("$", r"\$")):
        load_library(tmp_path)


def test_every_kind_is_one_the_detectors_accept():
    import detectors

    assert set(load_library().kinds().values()) <= set(detectors.KINDS)


def test_the_library_readme_lists_every_signal():
    from app.signals import LIBRARY_DIR

    text = (LIBRARY_DIR / "README.md").read_text()
    assert [s for s in load_library().ids() if f"`{s}`" not in text] == []
