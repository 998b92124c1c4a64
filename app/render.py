"""Skeleton placeholder for the note (issue 8 replaces it with app.note)."""

from __future__ import annotations

from app.model import Incident, iso


def note_markdown(incident: Incident, no_llm: bool = True) -> str:
    lines = [f"# Kafka incident: {incident.cluster}", "", f"Status: **{incident.status}**", ""]
    if incident.started_at:
        lines.append(f"Started at {iso(incident.started_at)}")
    for h in incident.hypotheses:
        lines.append(f"- {h.cause} ({h.confidence:.0%}) on {', '.join(h.brokers)}: {', '.join(h.evidence)}")
    return "\n".join(lines) + "\n"
