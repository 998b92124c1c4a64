"""The Source interface over a recorded bundle directory."""

from __future__ import annotations

from pathlib import Path

from app.bundle import Bundle, read_bundle
from app.model import SourceReport, Window
from app.sources.base import LogsResult, MetricsResult


class BundleSource:
    name = "bundle"

    def __init__(self, path: str | Path):
        self.bundle: Bundle = read_bundle(path)

    def cluster(self) -> str:
        return self.bundle.manifest.cluster

    def brokers(self) -> list[str]:
        return list(self.bundle.manifest.brokers)

    def default_window(self) -> Window:
        return self.bundle.manifest.window

    def metrics(self, window: Window, signals: list[str] | None = None) -> MetricsResult:
        frame = self.bundle.metrics
        mask = (frame["ts"] >= window.start) & (frame["ts"] <= window.end)
        if signals is not None:
            mask &= frame["signal"].isin(signals)
        selected = frame[mask].reset_index(drop=True)
        status = "ok" if len(selected) else "no_data"
        message = "" if len(selected) else "the bundle has no samples in this window"
        if "metrics" in self.bundle.problems:
            status, message = "error", self.bundle.problems["metrics"]
        return MetricsResult(
            frame=selected,
            reports=[SourceReport("metrics", status, message)],
            step_seconds=self.bundle.manifest.step_seconds,
        )

    def logs(self, window: Window, brokers: list[str] | None = None) -> LogsResult:
        frame = self.bundle.logs
        mask = (frame["ts"] >= window.start) & (frame["ts"] <= window.end)
        if brokers is not None:
            mask &= frame["broker"].isin(brokers)
        selected = frame[mask].reset_index(drop=True)
        status = "ok" if len(selected) else "no_data"
        message = "" if len(selected) else "the bundle has no log lines in this window"
        if "logs" in self.bundle.problems:
            status, message = "error", self.bundle.problems["logs"]
        return LogsResult(frame=selected, reports=[SourceReport("logs", status, message)])
