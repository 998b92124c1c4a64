"""The Source interface over live servers: Prometheus (+ Loki, + Kafka admin when given).

What the servers call things (naming profile, broker and cluster labels, scrape interval) is
detected once, on first use, from the last week of series, unless given. Each client counts
the requests it sent, so a pull's cost can be reported.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.bundle import empty_logs
from app.logql import LogLabels
from app.model import SourceReport, Window
from app.signals import Library, load_library
from app.sources.base import LogsResult, MetricsResult, SourceError
from app.sources.kafka_admin import AdminView, KafkaAdmin
from app.sources.loki import BROKER_LABEL_CANDIDATES as LOKI_BROKER_LABELS
from app.sources.loki import MAX_LINES, LokiClient, fetch_logs
from app.sources.prometheus import Layout, PrometheusClient, detect_layout, fetch_metrics

DETECT_LOOKBACK = timedelta(days=7)
DEFAULT_LOOKBACK = timedelta(hours=1)
FAILURE_MEMORY_S = 30.0  # how long a failed layout detection is reused instead of retried


class LiveSource:
    name = "live"

    def __init__(
        self,
        prometheus_url: str,
        loki_url: str | None = None,
        cluster: str | None = None,
        bootstrap_servers: str | None = None,
        profile: str | None = None,
        broker_label: str | None = None,
        timeout: float = 15.0,
        max_log_lines: int = MAX_LINES,
        library: Library | None = None,
        instance_map: dict[str, str] | str | None = None,
    ):
        self.library = library or load_library()
        self.prometheus = PrometheusClient(prometheus_url, timeout=timeout)
        self.loki = LokiClient(loki_url, timeout=timeout) if loki_url else None
        bootstrap = bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        self.admin = KafkaAdmin(bootstrap, timeout=timeout) if bootstrap else None
        self._cluster = cluster
        self._profile = profile or os.environ.get("LENS_METRICS_PROFILE") or None
        self._broker_label = broker_label or os.environ.get("LENS_BROKER_LABEL") or None
        self._instance_map = parse_instance_map(instance_map or os.environ.get("LENS_INSTANCE_MAP") or {})
        self._layout: Layout | None = None
        self._layout_failure: tuple[float, SourceError] | None = None
        self._log_labels: LogLabels | None = None
        self.max_log_lines = max_log_lines
        if self._profile:
            self.library.profile(self._profile)  # fail early on an unknown profile name

    # -- detection -------------------------------------------------------------------------
    def layout(self) -> Layout:
        if self._layout is None:
            # A server that just failed is not asked again at once: one diagnosis waits for
            # one timeout, not one per stage (brokers, metrics, logs, cluster).
            failed = self._layout_failure
            if failed is not None and time.monotonic() - failed[0] < FAILURE_MEMORY_S:
                raise failed[1]
            now = datetime.now(UTC)
            try:
                self._layout = detect_layout(
                    self.prometheus,
                    self.library,
                    Window(now - DETECT_LOOKBACK, now),
                    profile=self._profile,
                    broker_label=self._broker_label,
                    cluster=self._cluster,
                    instance_map=self._instance_map,
                )
            except SourceError as exc:
                self._layout_failure = (time.monotonic(), exc)
                raise
            self._layout_failure = None
        return self._layout

    def log_labels(self) -> LogLabels:
        if self._log_labels is None:
            try:
                layout: Layout | None = self.layout()
            except SourceError:
                layout = None  # Prometheus is down: the logs can still be read with Loki's own labels
            label = self._broker_label or (layout.labels.broker_label if layout else "broker")
            cluster_label = layout.labels.cluster_label if layout else None
            if self.loki is not None:
                now = datetime.now(UTC)
                names = set(self.loki.labels(now - DETECT_LOOKBACK, now))
                label = next((c for c in LOKI_BROKER_LABELS if c in names), label)
                if cluster_label not in names:
                    cluster_label = None  # streams without the metrics' cluster label: do not filter on it
            labels = LogLabels(broker_label=label, cluster_label=cluster_label)
            if layout is None:
                return labels  # not cached: with Prometheus back, the cluster label counts again
            self._log_labels = labels
        return self._log_labels

    # -- Source protocol -------------------------------------------------------------------
    def cluster(self) -> str:
        return self._cluster or self.layout().cluster or "default"

    def brokers(self) -> list[str]:
        return list(self.layout().brokers)

    def default_window(self) -> Window:
        now = datetime.now(UTC)
        return Window(now - DEFAULT_LOOKBACK, now)

    def metrics(self, window: Window, signals: list[str] | None = None) -> MetricsResult:
        return fetch_metrics(self.prometheus, self.library, self.layout(), window, signals)

    def logs(self, window: Window, brokers: list[str] | None = None) -> LogsResult:
        if self.loki is None:
            return LogsResult(
                empty_logs(), [SourceReport("logs", "no_data", "no Loki URL given (--loki or LOKI_URL)")]
            )
        labels = self.log_labels()
        cluster = (self._cluster or self.layout().cluster) if labels.cluster_label else None
        return fetch_logs(self.loki, labels, window, cluster, brokers, max_lines=self.max_log_lines)

    # -- extras for `check` and the live "now" view ----------------------------------------
    def admin_view(self, groups: bool = True) -> AdminView | None:
        return self.admin.view(groups=groups) if self.admin else None

    def queries_sent(self) -> dict[str, int]:
        counts = {"prometheus": self.prometheus.queries_sent}
        if self.loki is not None:
            counts["loki"] = self.loki.queries_sent
        return counts

    def describe(self) -> dict[str, Any]:
        """What was found on each server (for `python -m app check`); raises SourceError on failure."""
        layout = self.layout()
        build = self.prometheus.buildinfo()
        out: dict[str, Any] = {
            "prometheus": {
                "url": self.prometheus.url,
                "version": build.get("version", "unknown"),
                "profile": layout.profile,
                "profile_coverage": {k: round(v, 3) for k, v in sorted(layout.coverage.items())},
                "broker_label": layout.labels.broker_label,
                "cluster_label": layout.labels.cluster_label,
                "cluster": layout.cluster,
                "brokers": layout.brokers,
                "scrape_interval_seconds": layout.scrape_interval,
                "signals": len(self.library.in_profile(layout.profile)),
            }
        }
        if self.loki is not None:
            now = datetime.now(UTC)
            labels = self.loki.labels(now - DETECT_LOOKBACK, now)
            log_labels = self.log_labels()
            values = (
                self.loki.label_values(log_labels.broker_label, now - DETECT_LOOKBACK, now)
                if log_labels.broker_label in labels
                else []
            )
            out["loki"] = {
                "url": self.loki.url,
                "version": self.loki.version() or "unknown (no buildinfo endpoint: Loki 1.x)",
                "labels": labels,
                "broker_label": log_labels.broker_label,
                "brokers": values,
            }
        if self.admin is not None:
            try:
                view = self.admin.view(groups=False)
                out["kafka"] = {
                    "bootstrap": self.admin.bootstrap,
                    "cluster_id": view.cluster_id,
                    "controller": view.controller,
                    "version": self.admin.broker_version(view.brokers[0].id) if view.brokers else None,
                    "brokers": [b.id for b in view.brokers],
                    "partitions": len(view.partitions),
                    "under_replicated": len(view.under_replicated()),
                    "offline": len(view.offline()),
                }
            except SourceError as exc:
                # Kafka unreachable: what Prometheus and Loki said is still worth showing.
                out["kafka"] = {"bootstrap": self.admin.bootstrap, "error": str(exc)}
            finally:
                self.admin.close()
        return out


def parse_instance_map(value: dict[str, str] | str) -> dict[str, str]:
    """{broker id: instance} from a dict or "1=host:9404,2=host2:9404" (for series without a broker label)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    out = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        broker, sep, instance = part.partition("=")
        if not sep or not broker.strip() or not instance.strip():
            raise ValueError(f"instance map entry {part!r} is not BROKER=INSTANCE (e.g. 1=10.0.0.5:7071)")
        out[broker.strip()] = instance.strip()
    return out


__all__ = ["LiveSource", "SourceError", "parse_instance_map"]
