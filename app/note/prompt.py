"""Incident -> the LLM's system and user prompts, evidence first, within a token budget.

The model sees the Incident's evidence (ids, values, times, queries, one redacted sample
line) and the ranked hypotheses, never raw series. Every string that came from a log line
or a label is redacted, stripped of control characters, JSON-escaped (ASCII only) and sits
inside a fenced `untrusted-data` block whose fence is longer than any backtick run inside,
so it can neither close the block nor pass for an instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.model import Evidence, Incident, iso
from app.note import format as fmt
from app.note.draft import TOOL_NAME
from app.note.templates import render

# Conservative for JSON-heavy English (newer tokenizers cut finer): over-estimates, never under.
CHARS_PER_TOKEN = 2.5


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    evidence_ids: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # what the model saw (for the checker)
    trimmed: int = 0

    def estimated_tokens(self, schema_chars: int = 0) -> int:
        return int((len(self.system) + len(self.user) + schema_chars) / CHARS_PER_TOKEN) + 1


def evidence_row(e: Evidence) -> dict[str, Any]:
    row: dict[str, Any] = {"id": e.id, "kind": e.kind, "signal": fmt.clean(e.signal, 120)}
    if e.broker:
        row["broker"] = fmt.clean(e.broker, 40)
    row["at"] = iso(e.at)
    if e.before is not None:
        row["before"] = _round(e.before)
    if e.value is not None:
        row["value"] = _round(e.value)
    if e.kind == "log":
        row["count"] = e.count
    if e.summary:
        row["summary"] = fmt.clean(e.summary, 300)
    if e.query:
        row["query"] = fmt.clean(e.query, 400)
    if e.sample:
        row["sample"] = fmt.clean(e.sample, 400)
    return row


def hypothesis_rows(incident: Incident, ids: set[str]) -> list[dict[str, Any]]:
    rows = []
    for rank, h in enumerate(incident.hypotheses, start=1):
        rows.append(
            {
                "rank": rank,
                "cause": fmt.clean(h.cause, 120),
                "confidence": _round(h.confidence),
                "brokers": [fmt.clean(b, 40) for b in h.brokers],
                "evidence": [i for i in h.evidence if i in ids],
                "summary": fmt.clean(h.summary, 300),
            }
        )
    return rows


def build_prompt(
    incident: Incident,
    problems: list[str] | None = None,
    max_tokens: int | None = None,
    schema_chars: int = 0,
    answer_format: str = "tool",
) -> Prompt:
    """Render both prompts; drop lowest-ranked evidence until the estimate fits `max_tokens`."""
    ordered = _by_rank(incident)
    keep = len(ordered)
    while True:
        prompt = _render(incident, ordered[:keep], len(ordered) - keep, problems or [], answer_format)
        if max_tokens is None or prompt.estimated_tokens(schema_chars) <= max_tokens or keep <= 1:
            return prompt
        keep = max(1, keep - max(1, keep // 5))


def _render(
    incident: Incident, evidence: list[Evidence], trimmed: int, problems: list[str], answer_format: str
) -> Prompt:
    rows = [evidence_row(e) for e in sorted(evidence, key=lambda e: e.at)]
    ids = {r["id"] for r in rows}
    hyp = hypothesis_rows(incident, ids)
    missing = [fmt.clean(m, 300) for m in incident.missing]
    dumped = "\n".join(fmt.to_json(r) for r in [*rows, *hyp, *missing])
    fence_open = "`" * max(3, fmt.longest_backtick_run(dumped) + 1)
    context = {
        "incident": incident,
        "evidence_rows": rows,
        "hypothesis_rows": hyp,
        "missing_rows": missing,
        "fence_open": fence_open,
        "trimmed": trimmed,
        "problems": problems,
        "tool_name": TOOL_NAME,
        "answer_format": answer_format,
    }
    return Prompt(
        system=render("system.j2", **context),
        user=render("user.j2", **context),
        evidence_ids=[r["id"] for r in rows],
        rows=[*rows, *hyp],
        trimmed=trimmed,
    )


def _by_rank(incident: Incident) -> list[Evidence]:
    """Evidence cited by higher-ranked hypotheses first, then the rest in time order."""
    by_id = incident.evidence_by_id()
    order: list[str] = []
    for h in incident.hypotheses:
        order.extend(i for i in h.evidence if i in by_id and i not in order)
    order.extend(e.id for e in sorted(incident.evidence, key=lambda e: e.at) if e.id not in order)
    return [by_id[i] for i in order]


def _round(value: float) -> float | int:
    number = float(f"{float(value):.6g}")
    return int(number) if number.is_integer() and abs(number) < 1e15 else number
