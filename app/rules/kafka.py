"""The Kafka pack: recording rules generated from promql_library/, and the alerts built on them.

Every broker-scoped library signal becomes one recording rule: the signal's own PromQL
(rendered for all brokers) with `by (<broker label>)` turned into `without (instance, job)`,
or wrapped in one when the template has no aggregation, so the cluster and broker labels
survive and the recorded value is exactly what the app charts for that signal. Group and
cluster signals, whose templates aggregate `by` other labels, get a hand-written equivalent
here (checked against the library's metric names by a test). Rate signals also get adaptive
baselines (mean, standard deviation and median over `baseline_window`).

Alerts read the recorded series, so one signal id names the app's query, the rule and the
dashboard panel. Each alert carries promtool cases (see `AlertCase`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.rules.config import DEFAULT, RulesConfig
from app.rules.model import AlertCase, AlertRule, RecordingRule, RuleGroup
from app.signals import Library, load_library

PROFILE = "jmx_kafka"
_AGGREGATORS = ("sum", "max", "min", "avg", "count")


@dataclass(frozen=True)
class Record:
    """How one library signal is recorded: the rule name and the aggregation for bare selectors."""

    signal: str
    record: str
    op: str = "sum"  # aggregation wrapped around templates that have none
    baseline: bool = False
    expr: str | None = None  # hand-written when the template cannot be rewritten mechanically
    drop: tuple[str, ...] = ()  # labels `by (broker)` dropped that `without (...)` must drop too
    matchers: str = ""  # label matchers that pick this signal out of a shared record


def records(cfg: RulesConfig = DEFAULT) -> list[Record]:
    w = cfg.rate_window
    drop = cfg.without
    lag_drop = cfg.without_plus("topic", "partition")
    return [
        Record(
            "under_replicated_partitions", "broker:kafka_server_replicamanager_underreplicatedpartitions:sum"
        ),
        Record(
            "under_min_isr_partitions", "broker:kafka_server_replicamanager_underminisrpartitioncount:sum"
        ),
        Record("offline_partitions", "broker:kafka_controller_kafkacontroller_offlinepartitionscount:sum"),
        Record("isr_shrink_rate", f"broker:kafka_server_replicamanager_isrshrinks:rate{w}", baseline=True),
        Record("isr_expand_rate", f"broker:kafka_server_replicamanager_isrexpands:rate{w}"),
        Record("active_controller", "broker:kafka_controller_kafkacontroller_activecontrollercount:sum"),
        Record(
            "active_controller_count",
            "cluster:kafka_controller_kafkacontroller_activecontrollercount:sum",
            expr=f"sum without ({cfg.without_plus(cfg.broker_label)}) "
            f'(kafka_controller_kafkacontroller_activecontrollercount{{{cfg.broker_label}=~".+"}})',
        ),
        Record(
            "controller_changes",
            f"broker:kafka_controller_kafkacontroller_newactivecontrollerscount:increase{w}",
        ),
        Record(
            "unclean_leader_elections",
            f"broker:kafka_controller_controllerstats_uncleanleaderelections:rate{w}",
        ),
        Record("leader_count", "broker:kafka_server_replicamanager_leadercount:sum"),
        Record("partition_count", "broker:kafka_server_replicamanager_partitioncount:sum"),
        Record(
            "request_handler_idle",
            f"broker:kafka_server_kafkarequesthandlerpool_requesthandleravgidlepercent:ratio_rate{w}",
            op="max",
        ),
        Record(
            "network_processor_idle",
            "broker:kafka_network_socketserver_networkprocessoravgidlepercent:max",
            op="max",
        ),
        Record("bytes_in_rate", f"broker:kafka_server_brokertopicmetrics_bytesin:rate{w}", baseline=True),
        Record("bytes_out_rate", f"broker:kafka_server_brokertopicmetrics_bytesout:rate{w}"),
        Record(
            "messages_in_rate", f"broker:kafka_server_brokertopicmetrics_messagesin:rate{w}", baseline=True
        ),
        Record(
            "produce_latency_p99",
            "broker_request:kafka_network_requestmetrics_totaltimems:p99",
            baseline=True,
            expr=f"max without ({drop}) (kafka_network_requestmetrics_totaltimems"
            f'{{quantile="0.99",request=~"Produce|FetchConsumer|FetchFollower",{cfg.broker_label}=~".+"}})',
            matchers='request="Produce"',
        ),
        Record(
            "fetch_consumer_latency_p99",
            "broker_request:kafka_network_requestmetrics_totaltimems:p99",
            matchers='request="FetchConsumer"',
        ),
        Record(
            "fetch_follower_latency_p99",
            "broker_request:kafka_network_requestmetrics_totaltimems:p99",
            matchers='request="FetchFollower"',
        ),
        Record(
            "produce_request_rate",
            f"broker_request:kafka_network_requestmetrics_requests:rate{w}",
            expr=f"sum without ({cfg.without_plus('version')}) "
            "(rate(kafka_network_requestmetrics_requests_total"
            f'{{request=~"Produce|FetchConsumer|FetchFollower",{cfg.broker_label}=~".+"}}[{w}]))',
            matchers='request="Produce"',
        ),
        Record(
            "fetch_request_rate",
            f"broker_request:kafka_network_requestmetrics_requests:rate{w}",
            matchers='request="FetchConsumer"',
        ),
        Record(
            "follower_fetch_rate",
            f"broker_request:kafka_network_requestmetrics_requests:rate{w}",
            matchers='request="FetchFollower"',
        ),
        Record("log_flush_time_p99", "broker:kafka_log_logflushstats_logflushrateandtimems:p99", op="max"),
        Record(
            "consumer_lag_sum",
            "group:kafka_consumergroup_lag:sum",
            expr=f"sum without ({lag_drop}) (kafka_consumergroup_lag)",
        ),
        Record(
            "consumer_lag_max_partition",
            "group:kafka_consumergroup_lag:max",
            expr=f"max without ({lag_drop}) (kafka_consumergroup_lag)",
        ),
        Record(
            "consumer_lag_growth",
            f"group:kafka_consumergroup_lag:deriv{w}",
            expr=f"sum without ({lag_drop}) (deriv(kafka_consumergroup_lag[{w}]))",
        ),
        Record(
            "consumer_group_members",
            "group:kafka_consumergroup_members:sum",
            expr=f"sum without ({cfg.without}) (kafka_consumergroup_members)",
        ),
        Record(
            "consumer_lag_seconds",
            "group:kafka_consumergroup_lag_seconds:max",
            # Per topic: lag / produce rate (end-offset growth); the group's worst topic.
            expr=f"max without (topic) (sum without ({cfg.without_plus('partition')}) "
            "(kafka_consumergroup_lag)"
            f" / ignoring (consumergroup) group_left clamp_min(sum without ({cfg.without_plus('partition')})"
            f" (rate(kafka_topic_partition_current_offset[{w}])), 0.001))",
        ),
        Record(
            "gc_time_fraction", f"broker:jvm_gc_collection_seconds:ratio_rate{w}", baseline=True, drop=("gc",)
        ),
        Record("gc_count_rate", f"broker:jvm_gc_collection_seconds_count:rate{w}", drop=("gc",)),
        Record("old_gc_count_rate", f"broker:jvm_gc_old_collection_seconds_count:rate{w}", drop=("gc",)),
        Record("heap_used_ratio", f"broker:jvm_memory_heap_used_bytes:min_ratio{w}", drop=("area",)),
        Record("process_cpu", f"broker:process_cpu_seconds:rate{w}"),
        Record("open_fds", "broker:process_open_fds:sum"),
        Record("open_fds_ratio", "broker:process_open_fds:ratio", op="max"),
        Record("raft_current_leader", "broker:kafka_server_raft_metrics_current_leader:max", op="max"),
        Record("raft_current_epoch", "broker:kafka_server_raft_metrics_current_epoch:max", op="max"),
        Record("raft_commit_latency", "broker:kafka_server_raft_metrics_commit_latency_avg:max", op="max"),
        Record(
            "raft_election_latency", "broker:kafka_server_raft_metrics_election_latency_avg:max", op="max"
        ),
        Record("broker_up", "broker:up:max", op="max"),
    ]


def record_for(signal_id: str, cfg: RulesConfig = DEFAULT) -> Record:
    for rec in records(cfg):
        if rec.signal == signal_id:
            return rec
    raise KeyError(f"no recording rule for signal {signal_id!r}")


def recorded_selector(signal_id: str, cfg: RulesConfig = DEFAULT) -> str:
    """The recorded series that holds `signal_id` (with matchers when several signals share it)."""
    rec = record_for(signal_id, cfg)
    return f"{rec.record}{{{rec.matchers}}}" if rec.matchers else rec.record


def signal_expr(library: Library, signal_id: str, cfg: RulesConfig = DEFAULT) -> str:
    """The library's PromQL for all brokers, aggregated `without` the scrape labels."""
    signal = library.signal(signal_id)
    seconds = _seconds(cfg.rate_window)
    text = signal.render(library.profile(PROFILE), range_seconds=seconds)
    text = text.replace(f"[{seconds}s]", f"[{cfg.rate_window}]")
    by = f"by ({cfg.broker_label})"
    if by in text:
        return text.replace(by, f"without ({cfg.without_plus(*record_for(signal_id, cfg).drop)})")
    if re.search(r"\bby\s*\(", text) or signal.scope != "broker":
        raise ValueError(f"signal {signal_id}: template aggregates by other labels; give the record an expr")
    if text.split("(")[0].strip() in _AGGREGATORS:
        raise ValueError(f"signal {signal_id}: aggregation without a broker `by`; give the record an expr")
    return f"{record_for(signal_id, cfg).op} without ({cfg.without}) ({text})"


def _seconds(window: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(window[:-1]) * units[window[-1]]


def recording_rules(library: Library, cfg: RulesConfig = DEFAULT) -> list[RecordingRule]:
    out: list[RecordingRule] = []
    seen: set[str] = set()
    for rec in records(cfg):
        if rec.record in seen:
            continue  # a shared record (request latency, request rate) is written once
        seen.add(rec.record)
        signal = library.signal(rec.signal)
        expr = rec.expr or signal_expr(library, rec.signal, cfg)
        comment = _one_line(signal.description)
        out.append(RecordingRule(rec.record, expr, comment, signal=rec.signal))
        if rec.baseline:
            out.extend(_baselines(rec.record, rec.signal, cfg))
    out.extend(_extra_recordings(cfg))
    return out


def _baselines(record: str, signal: str, cfg: RulesConfig) -> list[RecordingRule]:
    b = cfg.baseline_window
    return [
        RecordingRule(
            f"{record}_avg{b}",
            f"avg_over_time({record}[{b}])",
            f"Baseline: mean of {record} over {b}.",
            signal=signal,
        ),
        RecordingRule(
            f"{record}_stddev{b}",
            f"stddev_over_time({record}[{b}])",
            f"Baseline: standard deviation of {record} over {b}.",
            signal=signal,
        ),
        RecordingRule(
            f"{record}_median{b}",
            f"quantile_over_time(0.5, {record}[{b}])",
            f"Baseline: median of {record} over {b} (robust to the spikes the mean chases).",
            signal=signal,
        ),
    ]


def _extra_recordings(cfg: RulesConfig) -> list[RecordingRule]:
    w = cfg.rate_window
    return [
        RecordingRule(
            "cluster:kafka_controller_kafkacontroller_offlinepartitionscount:max",
            f"max without ({cfg.without_plus(cfg.broker_label)}) "
            "(broker:kafka_controller_kafkacontroller_offlinepartitionscount:sum)",
            "Offline partitions in the cluster (only the active controller reports them).",
            signal="offline_partitions",
        ),
        RecordingRule(
            f"cluster:kafka_controller_kafkacontroller_newactivecontrollerscount:max_increase{w}",
            f"max without ({cfg.without_plus(cfg.broker_label)}) "
            f"(broker:kafka_controller_kafkacontroller_newactivecontrollerscount:increase{w})",
            "Controller changes in the cluster over the window, as the node that saw most of them counts.",
            signal="controller_changes",
        ),
        RecordingRule(
            "broker:kafka_log_logmanager_offlinelogdirectorycount:sum",
            f"sum without ({cfg.without}) "
            f'(kafka_log_logmanager_offlinelogdirectorycount{{{cfg.broker_label}=~".+"}})',
            "Log directories this broker has taken offline after an I/O error.",
        ),
    ]


def _one_line(text: str) -> str:
    """The first sentence (a '. ' outside parentheses ends it), on one line."""
    text = " ".join(text.split())
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "." and depth == 0 and (i + 1 == len(text) or text[i + 1] == " "):
            return text[: i + 1]
    return text if text.endswith(".") else text + "."


# --- alerts --------------------------------------------------------------------------------------

_B = {"broker": "2", "cluster": "c1"}
_SCRAPE = 'instance="127.0.0.1:7072",job="kafka"'
_BROKER_SEL = 'broker="2",cluster="c1",' + _SCRAPE


def _m(metric: str, extra: str = "") -> str:
    inner = ",".join(p for p in (extra, _BROKER_SEL) if p)
    return f"{metric}{{{inner}}}"


def alerts(cfg: RulesConfig = DEFAULT) -> list[AlertRule]:
    w = cfg.rate_window
    b = cfg.baseline_window
    t = cfg.thresholds
    f = cfg.for_minutes
    sig = cfg.baseline_sigmas
    broker_is = "Broker {{ $labels.broker }} of cluster {{ $labels.cluster }}"
    out = [
        AlertRule(
            alert="KafkaUnderReplicatedPartitions",
            expr="broker:kafka_server_replicamanager_underreplicatedpartitions:sum > 0",
            for_minutes=f["KafkaUnderReplicatedPartitions"],
            severity="warning",
            summary="Kafka partitions are under-replicated.",
            description=f"{broker_is} leads {{{{ $value | humanize }}}} under-replicated partitions. "
            "Find the follower that dropped out (a broker down, slow disk or network): check "
            "KafkaBrokerMissing "
            "and 'Shrinking ISR' lines in the leaders' server.log.",
            runbook="kafkaunderreplicatedpartitions",
            signals=("under_replicated_partitions",),
            threshold="> 0",
            cases=(
                AlertCase(
                    {_m("kafka_server_replicamanager_underreplicatedpartitions"): "0x9 3x40"},
                    onset=10,
                    labels=_B,
                    value=3,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaUnderMinIsrPartitions",
            expr="broker:kafka_server_replicamanager_underminisrpartitioncount:sum > 0",
            for_minutes=f["KafkaUnderMinIsrPartitions"],
            severity="critical",
            summary="Kafka partitions are below min.insync.replicas; acks=all produce fails.",
            description=f"{broker_is} leads {{{{ $value | humanize }}}} partitions whose ISR is below "
            "min.insync.replicas, so producers with acks=all get NotEnoughReplicas. Bring the missing "
            "replicas "
            "back (restart the down broker) before lowering min.insync.replicas.",
            runbook="kafkaunderminisrpartitions",
            signals=("under_min_isr_partitions",),
            threshold="> 0",
            cases=(
                AlertCase(
                    {_m("kafka_server_replicamanager_underminisrpartitioncount"): "0x9 2x40"},
                    onset=10,
                    labels=_B,
                    value=2,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaOfflinePartitions",
            expr="cluster:kafka_controller_kafkacontroller_offlinepartitionscount:max > 0",
            for_minutes=f["KafkaOfflinePartitions"],
            severity="critical",
            summary="Kafka partitions have no leader.",
            description="Cluster {{ $labels.cluster }} has {{ $value | humanize }} offline partitions: they "
            "accept no reads or writes. Restart the brokers holding their replicas; consider unclean "
            "election "
            "only if data loss is acceptable.",
            runbook="kafkaofflinepartitions",
            signals=("offline_partitions",),
            threshold="> 0",
            cases=(
                AlertCase(
                    {_m("kafka_controller_kafkacontroller_offlinepartitionscount"): "0x9 4x40"},
                    onset=10,
                    labels={"cluster": "c1"},
                    value=4,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaActiveControllerCountNotOne",
            expr="cluster:kafka_controller_kafkacontroller_activecontrollercount:sum != 1",
            for_minutes=f["KafkaActiveControllerCountNotOne"],
            severity="critical",
            summary="Kafka cluster does not have exactly one active controller.",
            description="Cluster {{ $labels.cluster }} reports {{ $value }} active controllers (must be 1). "
            "0 means no metadata changes are possible: check the KRaft quorum (controller.log, "
            "kafka-metadata-quorum describe); 2 or more means a split brain: restart the stale controller.",
            runbook="kafkaactivecontrollercountnotone",
            signals=("active_controller_count",),
            threshold="!= 1",
            cases=(
                AlertCase(
                    {
                        _m("kafka_controller_kafkacontroller_activecontrollercount"): "1x9 0x40",
                        'kafka_controller_kafkacontroller_activecontrollercount{broker="1",cluster="c1",'
                        'instance="127.0.0.1:7071",job="kafka"}': "0x50",
                    },
                    onset=10,
                    labels={"cluster": "c1"},
                    value=0,
                    name="no controller",
                ),
                AlertCase(
                    {
                        _m("kafka_controller_kafkacontroller_activecontrollercount"): "1x50",
                        'kafka_controller_kafkacontroller_activecontrollercount{broker="1",cluster="c1",'
                        'instance="127.0.0.1:7071",job="kafka"}': "0x14 1x40",
                    },
                    onset=15,
                    labels={"cluster": "c1"},
                    value=2,
                    name="split brain",
                ),
            ),
        ),
        AlertRule(
            alert="KafkaControllerChurn",
            expr=f"cluster:kafka_controller_kafkacontroller_newactivecontrollerscount:max_increase{w}"
            f" > {t['controller_changes']:g}",
            for_minutes=f["KafkaControllerChurn"],
            severity="warning",
            summary="The Kafka active controller keeps changing.",
            description=f"Cluster {{{{ $labels.cluster }}}} saw {{{{ $value | humanize }}}} new active "
            "controllers "
            f"in {w}. Look for controllers losing their quorum lease: GC pauses, network trouble or a "
            "crash-looping node (controller.log, KafkaGcTimeFractionHigh).",
            runbook="kafkacontrollerchurn",
            signals=("controller_changes",),
            threshold=f"> {t['controller_changes']:g} changes in {w}",
            cases=(
                AlertCase(
                    {_m("kafka_controller_kafkacontroller_newactivecontrollerscount"): "1x9 2 3 4 5x40"},
                    onset=12,
                    labels={"cluster": "c1"},
                    value=3,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaIsrShrinkRateAboveBaseline",
            expr=f"broker:kafka_server_replicamanager_isrshrinks:rate{w}"
            f" > broker:kafka_server_replicamanager_isrshrinks:rate{w}_avg{b}"
            f" + {sig:g} * broker:kafka_server_replicamanager_isrshrinks:rate{w}_stddev{b}"
            f" and broker:kafka_server_replicamanager_isrshrinks:rate{w} > {t['isr_shrink_min_rate']:g}",
            for_minutes=f["KafkaIsrShrinkRateAboveBaseline"],
            severity="warning",
            summary="Kafka ISR shrinks are well above their usual rate.",
            description=f"{broker_is} shrinks ISRs at {{{{ $value | humanize }}}}/s, more than {sig:g} "
            "standard "
            f"deviations above its {b} mean. Followers are falling out of sync: check the followers' health "
            "(down, GC, disk) and replica.lag.time.max.ms.",
            runbook="kafkaisrshrinkrateabovebaseline",
            signals=("isr_shrink_rate",),
            threshold=f"> mean + {sig:g} sd over {b}, and > {t['isr_shrink_min_rate']:g}/s",
            cases=(
                AlertCase(
                    {_m("kafka_server_replicamanager_isrshrinks_total"): "0x60 30+30x20"},
                    onset=61,
                    labels=_B,
                    value=0.3,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaUncleanLeaderElection",
            expr=f"broker:kafka_controller_controllerstats_uncleanleaderelections:rate{w} > 0",
            for_minutes=f["KafkaUncleanLeaderElection"],
            severity="critical",
            summary="Kafka elected an out-of-sync replica as leader; data may be lost.",
            description=f"{broker_is} reports unclean leader elections ({{{{ $value | humanize }}}}/s): "
            "messages not replicated to the new leader are gone. Find the affected partitions in the "
            "controller.log and tell the owners of their consumers.",
            runbook="kafkauncleanleaderelection",
            signals=("unclean_leader_elections",),
            threshold="> 0",
            cases=(
                AlertCase(
                    {_m("kafka_controller_controllerstats_uncleanleaderelections_total"): "0x10 3x40"},
                    onset=11,
                    labels=_B,
                    value=0.01,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaBrokerMissing",
            expr="broker:up:max == 0",
            for_minutes=f["KafkaBrokerMissing"],
            severity="critical",
            summary="A Kafka broker is down or cannot be scraped.",
            description=f"{broker_is} has not answered Prometheus scrapes. Check the process and its "
            "server.log (last lines before it stopped); restart it and watch under-replicated partitions "
            "fall "
            "back to 0.",
            runbook="kafkabrokermissing",
            signals=("broker_up",),
            threshold="up == 0",
            cases=(AlertCase({_m("up"): "1x9 0x40"}, onset=10, labels=_B, value=0),),
        ),
        AlertRule(
            alert="KafkaConsumerLagGrowing",
            expr=f"group:kafka_consumergroup_lag:deriv{w} > 0"
            f" and group:kafka_consumergroup_lag:sum > {t['consumer_lag_min']:g}",
            for_minutes=f["KafkaConsumerLagGrowing"],
            severity="warning",
            summary="A Kafka consumer group is falling behind.",
            description="Consumer group {{ $labels.consumergroup }} in cluster {{ $labels.cluster }} has a "
            "lag "
            "growing by {{ $value | humanize }} messages/s. Check that its consumers are running and not "
            "rebalancing in a loop; scale them out if production simply outgrew them.",
            runbook="kafkaconsumerlaggrowing",
            signals=("consumer_lag_growth", "consumer_lag_sum"),
            threshold=f"growing and > {t['consumer_lag_min']:g} messages",
            cases=(
                AlertCase(
                    {
                        'kafka_consumergroup_lag{cluster="c1",consumergroup="g1",instance="127.0.0.1:9308",'
                        'job="kafka_exporter",partition="0",topic="orders"}': "0x9 600+600x40",
                    },
                    onset=11,
                    labels={"cluster": "c1", "consumergroup": "g1"},
                    value=10,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaConsumerLagSecondsHigh",
            expr=f"group:kafka_consumergroup_lag_seconds:max > {t['consumer_lag_seconds']:g}",
            for_minutes=f["KafkaConsumerLagSecondsHigh"],
            severity="warning",
            summary="A Kafka consumer group is far behind in time.",
            description="Consumer group {{ $labels.consumergroup }} in cluster {{ $labels.cluster }} is "
            "about "
            "{{ $value | humanize }}s behind its producers. Check that its consumers are alive and keeping "
            "up; "
            "a stalled group needs a restart, a slow one more instances or partitions.",
            runbook="kafkaconsumerlagsecondshigh",
            signals=("consumer_lag_seconds",),
            threshold=f"> {t['consumer_lag_seconds']:g} s",
            cases=(
                AlertCase(
                    {
                        'kafka_consumergroup_lag{cluster="c1",consumergroup="g1",instance="127.0.0.1:9308",'
                        'job="kafka_exporter",partition="0",topic="orders"}': "0x9 6000x40",
                        'kafka_topic_partition_current_offset{cluster="c1",instance="127.0.0.1:9308",'
                        'job="kafka_exporter",partition="0",topic="orders"}': "0+600x50",
                    },
                    onset=10,
                    labels={"cluster": "c1", "consumergroup": "g1"},
                    value=600,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaGcTimeFractionHigh",
            expr=f"broker:jvm_gc_collection_seconds:ratio_rate{w} > {t['gc_time_fraction']:g}",
            for_minutes=f["KafkaGcTimeFractionHigh"],
            severity="warning",
            summary="A Kafka broker spends too much time in garbage collection.",
            description=f"{broker_is} spent {{{{ $value | humanizePercentage }}}} of the last {w} in GC. "
            "Check "
            "heap usage and the GC log; raise the heap or find the load (large fetches, many partitions) "
            "that fills it.",
            runbook="kafkagctimefractionhigh",
            signals=("gc_time_fraction",),
            threshold=f"> {t['gc_time_fraction']:g} of wall time",
            cases=(
                AlertCase(
                    {_m("jvm_gc_collection_seconds_sum", 'gc="G1 Young Generation"'): "0x10 12+12x40"},
                    onset=13,
                    labels=_B,
                    value=0.2,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaRequestHandlerIdleLow",
            expr=f"broker:kafka_server_kafkarequesthandlerpool_requesthandleravgidlepercent:ratio_rate{w}"
            f" < {t['request_handler_idle_min']:g}",
            for_minutes=f["KafkaRequestHandlerIdleLow"],
            severity="warning",
            summary="Kafka request handler threads are nearly saturated.",
            description=f"{broker_is} request handlers are idle only {{{{ $value | humanizePercentage }}}} "
            "of "
            "the time. Requests will queue: check request rates and latency per request type, slow disks, "
            "and "
            "num.io.threads.",
            runbook="kafkarequesthandleridlelow",
            signals=("request_handler_idle",),
            threshold=f"< {t['request_handler_idle_min']:g}",
            cases=(
                AlertCase(
                    {
                        _m(
                            "kafka_server_kafkarequesthandlerpool_requesthandleravgidlepercent_count_total"
                        ): "0+54000000000x20 1086000000000+6000000000x30",
                    },
                    onset=25,
                    labels=_B,
                    value=0.1,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaRequestLatencyAboveBaseline",
            expr="broker_request:kafka_network_requestmetrics_totaltimems:p99"
            f" > broker_request:kafka_network_requestmetrics_totaltimems:p99_avg{b}"
            f" + {sig:g} * broker_request:kafka_network_requestmetrics_totaltimems:p99_stddev{b}"
            " and broker_request:kafka_network_requestmetrics_totaltimems:p99 > "
            f"{t['request_latency_min_ms']:g}",
            for_minutes=f["KafkaRequestLatencyAboveBaseline"],
            severity="warning",
            summary="Kafka request latency is well above its usual level.",
            description=f"{broker_is} serves {{{{ $labels.request }}}} requests with a p99 of "
            f"{{{{ $value | humanize }}}}ms, more than {sig:g} standard deviations above its {b} mean. "
            "Check the "
            "broker's disk, GC and request handler idle, and whether one client changed its load.",
            runbook="kafkarequestlatencyabovebaseline",
            signals=("produce_latency_p99", "fetch_consumer_latency_p99", "fetch_follower_latency_p99"),
            threshold=f"> mean + {sig:g} sd over {b}, and > {t['request_latency_min_ms']:g} ms",
            cases=(
                AlertCase(
                    {
                        _m(
                            "kafka_network_requestmetrics_totaltimems", 'quantile="0.99",request="Produce"'
                        ): "5x120 400x40",
                    },
                    onset=121,
                    labels={**_B, "quantile": "0.99", "request": "Produce"},
                    value=400,
                ),
            ),
        ),
        AlertRule(
            alert="KafkaLogDirOffline",
            expr="broker:kafka_log_logmanager_offlinelogdirectorycount:sum > 0",
            for_minutes=f["KafkaLogDirOffline"],
            severity="critical",
            summary="A Kafka log directory went offline.",
            description=f"{broker_is} has {{{{ $value | humanize }}}} offline log directories after I/O "
            "errors; "
            "its replicas there are gone from the ISR. Check the disk (dmesg, free space), fix or replace "
            "it, "
            "then restart the broker.",
            runbook="kafkalogdiroffline",
            signals=(),
            threshold="> 0",
            cases=(
                AlertCase(
                    {_m("kafka_log_logmanager_offlinelogdirectorycount"): "0x9 1x40"},
                    onset=10,
                    labels=_B,
                    value=1,
                ),
            ),
        ),
    ]
    return out


def kafka_groups(library: Library | None = None, cfg: RulesConfig = DEFAULT) -> list[RuleGroup]:
    library = library or load_library()
    # One group: rules in a group run in order, so every alert sees the recorded series of the
    # same evaluation. Across groups the order is undefined (promtool picks one at random).
    return [RuleGroup("kafka", recording=tuple(recording_rules(library, cfg)), alerts=tuple(alerts(cfg)))]
