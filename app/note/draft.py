"""The note's sections as data: what an LLM must return, and the same built without one.

The LLM writes prose only (title, impact, timeline lines, ranked causes, next steps),
each item citing evidence ids. Times, values, queries, actions and missing data are never
the model's words: the note template renders them from the Incident itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.model import Incident
from app.note import format as fmt

TOOL_NAME = "write_incident_note"
Likelihood = Literal["high", "medium", "low"]


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=400, description="One or two sentences, no timestamps.")
    evidence: list[str] = Field(
        min_length=1, max_length=12, description="Evidence ids (E1, E2, ...) it rests on."
    )


class Cause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cause: str = Field(min_length=1, max_length=120, description="Short name of the cause.")
    likelihood: Likelihood
    text: str = Field(min_length=1, max_length=400, description="Why the evidence points here.")
    evidence: list[str] = Field(min_length=1, max_length=12)


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120, description="Ticket title: what broke where.")
    impact: Claim
    timeline: list[Claim] = Field(min_length=1, max_length=12, description="What changed, in time order.")
    causes: list[Cause] = Field(min_length=1, max_length=5, description="Likely causes, most likely first.")
    next_steps: list[Claim] = Field(default_factory=list, max_length=6)

    def cited(self) -> list[str]:
        ids = [*self.impact.evidence]
        for item in [*self.timeline, *self.causes, *self.next_steps]:
            ids.extend(item.evidence)
        return ids

    def texts(self) -> list[str]:
        parts = [self.title, self.impact.text]
        for item in [*self.timeline, *self.next_steps]:
            parts.append(item.text)
        for cause in self.causes:
            parts.extend([cause.cause, cause.text])
        return parts


def tool_schema() -> dict:
    """JSON schema of `Draft` for a tool's input_schema / a response_format, refs inlined."""
    schema = Draft.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].split("/")[-1]])
            return {k: inline(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    # "title" keys are pydantic's labels; the draft's own `title` property is kept by name below.
    properties = {k: inline(v) for k, v in schema["properties"].items()}
    return {
        "type": "object",
        "properties": properties,
        "required": schema.get("required", []),
        "additionalProperties": False,
    }


def deterministic_draft(incident: Incident) -> Draft:
    """The draft the template writes by itself: from the ranked hypotheses and the evidence."""
    all_ids = [e.id for e in incident.evidence]
    top = incident.hypotheses[0] if incident.hypotheses else None
    top_ids = (top.evidence if top and top.evidence else all_ids)[:6] or ["none"]
    where = f" on broker {', '.join(top.brokers)}" if top and top.brokers else ""
    if top and top.cause not in ("", "unknown"):
        title = f"{fmt.humanize(top.cause).capitalize()}{where}"
    else:
        title = f"Kafka signals changed{where}"
    impact = Claim(text=_cut(incident.summary or title, 400), evidence=top_ids)
    timeline = [
        Claim(text=_evidence_line(e), evidence=[e.id])
        for e in sorted(incident.evidence, key=lambda e: e.at)[:12]
    ] or [Claim(text="No change was detected.", evidence=top_ids)]
    causes = [
        Cause(
            cause=_cut(fmt.humanize(h.cause), 120) if h.cause else "unknown",
            likelihood=fmt.level(h.confidence),
            text=_cut(h.summary, 400) or f"Confidence {fmt.pct(h.confidence)} from the cited evidence.",
            evidence=h.evidence[:12] or top_ids,
        )
        for h in incident.hypotheses[:5]
    ] or [Cause(cause="unknown", likelihood="low", text="No rule matched the evidence.", evidence=top_ids)]
    return Draft(title=_cut(title, 120), impact=impact, timeline=timeline, causes=causes)


def _evidence_line(e) -> str:
    where = f" on broker {e.broker}" if e.broker else ""
    if e.kind == "metric":
        change = (
            f" {fmt.num(e.before)} → {fmt.num(e.value)}" if e.before is not None else f" = {fmt.num(e.value)}"
        )
        return f"{fmt.humanize(e.signal)}{where}:{change}"[:400]
    times = f" ×{e.count}" if e.count > 1 else ""
    return f"{fmt.humanize(e.signal)}{where}{times}"[:400]


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
