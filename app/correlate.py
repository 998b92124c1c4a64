"""Skeleton placeholder: replaced by the correlation rules (issue 7)."""

from __future__ import annotations

from app.model import Evidence, Finding, Hypothesis, Incident, LogEvent, SourceReport, Window

import detectors


def correlate(
    window: Window,
    cluster: str,
    brokers: list[str],
    findings: list[Finding],
    events: list[LogEvent],
    reports: list[SourceReport],
    focus: str | None = None,
    queries: dict[str, str] | None = None,
) -> Incident:
    strong = sorted((f for f in findings if f.score >= detectors.REPORT_THRESHOLD), key=lambda f: f.at)
    evidence = [
        Evidence(id=f"E{i}", kind="metric", signal=f.signal, broker=f.broker, at=f.at, value=f.after,
                 before=f.before, summary=f"{f.signal} {f.direction}", query=(queries or {}).get(f.signal, ""))
        for i, f in enumerate(strong[:20], start=1)
    ]
    missing = [f"{r.source}: {r.message}" for r in reports if r.status in ("error", "partial", "no_data")]
    if not evidence:
        return Incident(window=window, cluster=cluster, brokers=brokers, status="quiet", missing=missing,
                        sources=reports, summary="No signal changed regime in this window.")
    first = evidence[0]
    hypothesis = Hypothesis(cause="unknown", confidence=0.2, brokers=[first.broker] if first.broker else [],
                            evidence=[e.id for e in evidence])
    return Incident(window=window, cluster=cluster, brokers=brokers, status="incident", started_at=first.at,
                    hypotheses=[hypothesis], evidence=evidence, missing=missing, sources=reports,
                    summary=f"{len(evidence)} signal changes, first {first.signal} on broker {first.broker}")
