"""Named knobs for the generated rules: label names, selectors, thresholds, `for:` durations.

Mixin-style: nothing a user would tune is a literal inside an expression. Defaults fit the
JMX exporter Kafka example config that the local real stack runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RulesConfig:
    cluster_label: str = "cluster"
    broker_label: str = "broker"
    # Labels a broker-level aggregation drops; the broker and cluster labels survive.
    scrape_labels: tuple[str, ...] = ("instance", "job")
    rate_window: str = "5m"
    # Adaptive baselines: mean/stddev and median of the rate over this window.
    baseline_window: str = "1d"
    baseline_sigmas: float = 3.0
    runbook_base: str = "docs/runbook.md"
    thresholds: dict[str, float] = field(
        default_factory=lambda: {
            "isr_shrink_min_rate": 0.01,  # per second; below this a "spike" is noise
            "controller_changes": 2,  # new active controllers per rate window
            "consumer_lag_min": 1000,  # messages; growth below this is not worth a page
            "consumer_lag_seconds": 300,
            "gc_time_fraction": 0.10,
            "request_handler_idle_min": 0.20,
            "request_latency_min_ms": 50,
        }
    )
    for_minutes: dict[str, int] = field(
        default_factory=lambda: {
            "KafkaUnderReplicatedPartitions": 2,
            "KafkaUnderMinIsrPartitions": 1,
            "KafkaOfflinePartitions": 1,
            "KafkaActiveControllerCountNotOne": 1,
            "KafkaControllerChurn": 0,
            "KafkaIsrShrinkRateAboveBaseline": 2,
            "KafkaUncleanLeaderElection": 0,
            "KafkaBrokerMissing": 1,
            "KafkaBrokerCountDropped": 1,
            "KafkaConsumerLagGrowing": 10,
            "KafkaConsumerLagSecondsHigh": 5,
            "KafkaGcTimeFractionHigh": 5,
            "KafkaRequestHandlerIdleLow": 10,  # idle dips for minutes after a broker (re)starts
            "KafkaRequestLatencyAboveBaseline": 10,
            "KafkaLogDirOffline": 0,
        }
    )

    @property
    def without(self) -> str:
        return ", ".join(self.scrape_labels)

    def without_plus(self, *labels: str) -> str:
        return ", ".join((*self.scrape_labels, *labels))

    def runbook_url(self, anchor: str) -> str:
        return f"{self.runbook_base}#{anchor}"


DEFAULT = RulesConfig()
