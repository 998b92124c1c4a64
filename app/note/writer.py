"""Incident -> Note: an LLM draft checked against the evidence, or the deterministic template.

    write_note(incident, mode="auto"|"template"|"llm", config=..., now=..., tz=...)

One call per attempt, at most two attempts (the second shows the model what the checker
rejected), and never more than the budget allows. Any failure — no backend, over budget,
timeout, overload, a draft rejected twice — gives the template note with one sentence
saying why, so a note always comes out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from pydantic import ValidationError

from app.config import Config, ConfigError, LLMConfig, load_config
from app.model import Incident, iso, to_jsonable
from app.note.backend import Backend, BackendError
from app.note.check import check_draft
from app.note.draft import Draft, deterministic_draft, tool_schema
from app.note.format import is_utc
from app.note.links import explore_url
from app.note.prompt import build_prompt
from app.note.templates import render

Mode = Literal["auto", "template", "llm"]
MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cost_usd: float | None = None

    def line(self) -> str:
        cost = "cost unknown" if self.cost_usd is None else f"about ${self.cost_usd:.4f}"
        calls = "1 call" if self.calls == 1 else f"{self.calls} calls"
        return f"{self.input_tokens:,} input + {self.output_tokens:,} output tokens in {calls}, {cost}"


@dataclass(frozen=True)
class Note:
    markdown: str
    kind: Literal["template", "llm"]
    draft: Draft
    generated_at: datetime
    backend: str | None = None
    model: str | None = None
    usage: Usage | None = None
    fallback: str | None = None  # why an LLM draft was wanted but not used

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "backend": self.backend,
            "model": self.model,
            "usage": None if self.usage is None else to_jsonable(self.usage),
            "fallback": self.fallback,
            "generated_at": iso(self.generated_at),
            "draft": self.draft.model_dump(),
            "markdown": self.markdown,
        }

    def accounting(self) -> str:
        """One line for stderr: which writer, model, tokens and cost."""
        if self.usage is None or self.usage.calls == 0:
            reason = f" ({self.fallback})" if self.fallback else ""
            return f"note: deterministic template{reason}"
        head = f"note: {self.kind} via {self.backend} {self.model}"
        tail = f"; fell back to the template: {self.fallback}" if self.fallback else ""
        return f"{head}: {self.usage.line()}{tail}"


@dataclass(frozen=True)
class _Outcome:
    draft: Draft | None
    usage: Usage
    reason: str | None


def make_backend(llm: LLMConfig) -> Backend | None:
    """The configured backend, or None when no LLM is configured (the template is used)."""
    kind = llm.resolved_backend()
    if kind == "anthropic":
        from app.note.anthropic_backend import AnthropicBackend

        return AnthropicBackend(
            api_key=llm.anthropic_api_key or "",
            model=llm.model_name(),
            timeout=llm.timeout,
            max_retries=llm.max_retries,
        )
    if kind == "openai":
        from app.note.openai_backend import OpenAICompatBackend

        return OpenAICompatBackend(
            base_url=llm.base_url or "",
            model=llm.model_name(),
            api_key=llm.openai_api_key,
            timeout=llm.timeout,
            max_retries=llm.max_retries,
        )
    return None


def write_note(
    incident: Incident,
    mode: Mode = "auto",
    config: Config | None = None,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    backend: Backend | None = None,
    checked: list[str] | None = None,
) -> Note:
    if mode not in ("auto", "template", "llm"):
        raise ConfigError(f"note mode {mode!r} is not one of auto, template, llm")
    config = config or load_config()
    now = now or datetime.now(UTC)
    tz = tz or config.tz()
    if incident.status == "quiet" or mode == "template":
        return _template(incident, config, now, tz, checked)
    owned = backend is None
    if backend is None:
        backend = make_backend(config.llm)
    if backend is None:
        if mode == "llm":
            raise ConfigError(
                "--note llm needs an LLM: set ANTHROPIC_API_KEY, or LENS_LLM_BASE_URL and LENS_LLM_MODEL"
            )
        return _template(incident, config, now, tz, checked)
    try:
        outcome = _llm_draft(incident, backend, config.llm, tz)
    finally:
        if owned and hasattr(backend, "close"):
            backend.close()
    if outcome.draft is None:
        return _template(
            incident, config, now, tz, checked, fallback=outcome.reason, usage=outcome.usage, backend=backend
        )
    markdown = _render(
        incident,
        outcome.draft,
        config,
        now,
        tz,
        checked,
        origin={"kind": "llm", "model": backend.model, "usage": outcome.usage.line(), "fallback": None},
    )
    return Note(markdown, "llm", outcome.draft, now, backend.name, backend.model, outcome.usage)


def _llm_draft(incident: Incident, backend: Backend, llm: LLMConfig, tz: tzinfo) -> _Outcome:
    schema = tool_schema()
    schema_chars = len(json.dumps(schema))
    prices = llm.prices()
    spent_in = spent_out = calls = 0
    problems: list[str] = []

    def usage() -> Usage:
        cost = None if prices is None else (spent_in * prices[0] + spent_out * prices[1]) / 1e6
        return Usage(spent_in, spent_out, calls, cost)

    if prices is None:
        return _Outcome(
            None,
            usage(),
            f"No LLM draft: the price of model {backend.model} is unknown, so the budget "
            "cannot be enforced; set LENS_LLM_PRICE_INPUT and LENS_LLM_PRICE_OUTPUT.",
        )
    for _ in range(MAX_ATTEMPTS):
        # The tighter of the token limit and what the money left can buy (after the worst-case output).
        affordable = _affordable_input(llm, prices, spent_in, spent_out)
        limit = min(llm.max_input_tokens, affordable)
        prompt = build_prompt(
            incident,
            problems,
            max_tokens=limit,
            schema_chars=schema_chars,
            answer_format=getattr(backend, "answer_format", "tool"),
        )
        estimate = prompt.estimated_tokens(schema_chars)
        worst = ((spent_in + estimate) * prices[0] + (spent_out + llm.max_tokens) * prices[1]) / 1e6
        if worst > llm.budget_usd:
            verb = "a first" if calls == 0 else "another"
            return _Outcome(
                None,
                usage(),
                f"No LLM draft: {verb} call could cost up to ${worst:.4f}, over the "
                f"budget of ${llm.budget_usd:.4f} per note (LENS_LLM_BUDGET_USD).",
            )
        try:
            completion = backend.complete(prompt.system, prompt.user, schema, llm.max_tokens)
        except BackendError as exc:
            return _Outcome(None, usage(), f"The LLM call failed: {exc}.")
        calls += 1
        spent_in += completion.input_tokens
        spent_out += completion.output_tokens
        problems = _problems(completion, prompt, incident, tz)
        if not problems:
            return _Outcome(_in_time_order(Draft.model_validate(completion.data), incident), usage(), None)
    return _Outcome(
        None,
        usage(),
        f"The LLM draft ({backend.model}) was rejected twice by the fact checker: {_summary(problems)}.",
    )


def _in_time_order(draft: Draft, incident: Incident) -> Draft:
    """A timeline reads top to bottom in time, whatever order the model wrote it in."""
    at = {e.id: e.at for e in incident.evidence}
    ordered = sorted(draft.timeline, key=lambda item: min(at[i] for i in item.evidence))
    return draft.model_copy(update={"timeline": ordered})


def _affordable_input(llm: LLMConfig, prices: tuple[float, float], spent_in: int, spent_out: int) -> int:
    if prices[0] <= 0:
        return llm.max_input_tokens
    left = llm.budget_usd * 1e6 - spent_in * prices[0] - (spent_out + llm.max_tokens) * prices[1]
    return max(0, int(left / prices[0]))


def _summary(problems: list[str]) -> str:
    """What the checker found, without repeating the draft's invented words or figures."""
    ids = [p.split(" ", 1)[0] for p in problems if " is not an evidence id" in p]
    numbers = sum(" appears in no evidence" in p for p in problems)
    times = sum(" is not the time of any evidence" in p for p in problems)
    parts = []
    if ids:
        parts.append(f"it cited unknown evidence id{'s' if len(ids) > 1 else ''} {', '.join(ids)}")
    if numbers:
        verb = "appear" if numbers > 1 else "appears"
        parts.append(f"wrote {numbers} number{'s' if numbers > 1 else ''} that {verb} in no evidence")
    if times:
        parts.append(f"wrote {times} time{'s' if times > 1 else ''} matching no evidence")
    if not parts:
        return problems[0] if problems else "no usable answer"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _problems(completion, prompt, incident: Incident, tz: tzinfo) -> list[str]:
    if completion.stop_reason in ("max_tokens", "length"):
        return ["the answer was cut off at the output token limit; write fewer, shorter items"]
    if completion.data is None:
        return [
            "the answer did not contain the note as structured data; call the tool with the schema's fields"
        ]
    try:
        draft = Draft.model_validate(completion.data)
    except ValidationError as exc:
        return [
            f"field {'.'.join(str(p) for p in err['loc']) or 'note'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)[:5]
        ]
    return check_draft(draft, prompt.rows, prompt.evidence_ids, incident, tz)


def _template(
    incident: Incident,
    config: Config,
    now: datetime,
    tz: tzinfo,
    checked: list[str] | None,
    fallback: str | None = None,
    usage: Usage | None = None,
    backend: Backend | None = None,
) -> Note:
    draft = deterministic_draft(incident)
    origin = {
        "kind": "template",
        "model": None,
        "usage": usage.line() if usage and usage.calls else "",
        "fallback": fallback,
    }
    markdown = _render(incident, draft, config, now, tz, checked, origin)
    return Note(
        markdown,
        "template",
        draft,
        now,
        backend.name if backend else None,
        backend.model if backend else None,
        usage,
        fallback,
    )


def _render(
    incident: Incident,
    draft: Draft,
    config: Config,
    now: datetime,
    tz: tzinfo,
    checked: list[str] | None,
    origin: dict[str, Any],
) -> str:
    evidence = {e.id: e for e in incident.evidence}
    links = {}
    for e in incident.evidence:
        uid = config.grafana_prometheus_uid if e.kind == "metric" else config.grafana_loki_uid
        links[e.id] = (
            explore_url(config.grafana_url, uid, e.query, incident.window)
            if config.grafana_url and e.query
            else ""
        )
    return render(
        "note.md.j2",
        actions=_merged_actions(incident),
        checks=_merged_checks(incident),
        show_local=not is_utc(tz),
        incident=incident,
        draft=draft,
        evidence=evidence,
        links=links,
        now=now,
        tz=tz,
        origin=origin,
        checked=sorted(checked or []),
    )


def _merged_actions(incident: Incident) -> list[dict[str, Any]]:
    """Each distinct command once, in rank order, with every cause that suggests it."""
    merged: dict[str, dict[str, Any]] = {}
    for h in incident.hypotheses:
        for action in h.actions:
            entry = merged.setdefault(
                action.command,
                {"title": action.title, "command": action.command, "risk": action.risk, "causes": []},
            )
            if h.cause not in entry["causes"]:
                entry["causes"].append(h.cause)
    return list(merged.values())


def _merged_checks(incident: Incident) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for h in incident.hypotheses:
        for query in h.verification:
            entry = merged.setdefault(query, {"query": query, "causes": []})
            if h.cause not in entry["causes"]:
                entry["causes"].append(h.cause)
    return list(merged.values())
