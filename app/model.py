"""Typed records passed between the pipeline's stages.

Every stage hands the next one plain frozen dataclasses, so a stage can be
tested alone and an `Incident` can be written to JSON and read back unchanged
(the CLI, the MCP server and the bundle all speak this JSON).

Times are timezone-aware UTC `datetime`s everywhere inside the core; JSON
carries them as ISO-8601 strings ending in `Z`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args, get_origin, get_type_hints

Severity = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
EvidenceKind = Literal["metric", "log"]
Status = Literal["incident", "quiet"]
SourceStatus = Literal["ok", "no_data", "partial", "error"]
Risk = Literal["safe", "low", "medium", "high"]


def utc(ts: datetime) -> datetime:
    """Return `ts` as an aware UTC datetime (naive input is taken as UTC)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def iso(ts: datetime) -> str:
    """ISO-8601 UTC with millisecond precision and a `Z` suffix."""
    return utc(ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    """A closed time range [start, end] in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise ValueError(
                f"window end {iso(self.end)} is not after start {iso(self.start)}; "
                "give a 'from' earlier than 'to'"
            )

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def contains(self, ts: datetime) -> bool:
        return self.start <= utc(ts) <= self.end


@dataclass(frozen=True)
class Finding:
    """Something a detector saw in one signal of one broker."""

    signal: str
    broker: str | None
    kind: Literal["change_point", "anomaly", "burst"]
    at: datetime
    end: datetime | None = None
    before: float | None = None
    after: float | None = None
    direction: Literal["up", "down", "none"] = "none"
    score: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One classified log line (or joined multi-line record).

    Slotted: a day of logs is ~200k events, and a per-instance __dict__ cost ~530 bytes each
    (~150 with slots). Code that builds events on the hot path (the taxonomy) sets the slots
    directly on a fresh, not yet shared event with `object.__setattr__`; nothing else mutates one.
    """

    event_class: str
    severity: Severity | None = None
    ts: datetime | None = None
    logger: str | None = None
    broker: str | None = None
    peer: str | None = None
    topic: str | None = None
    partition: int | None = None
    group: str | None = None
    isr_from: list[int] | None = None
    isr_to: list[int] | None = None
    member: str | None = None
    log_dir: str | None = None
    line: str = ""
    source_broker: str | None = None  # the broker whose log stream carried the line
    filename: str | None = None


@dataclass(frozen=True)
class Action:
    """A suggested operator action: a command and how risky running it is."""

    title: str
    command: str
    risk: Risk = "safe"


@dataclass(frozen=True)
class Evidence:
    """A fact an SRE can re-run: a metric change or a log event, with its query."""

    id: str  # "E1", "E2", ...
    kind: EvidenceKind
    signal: str  # signal id (metric) or event class (log)
    broker: str | None
    at: datetime
    value: float | None = None
    before: float | None = None
    summary: str = ""
    query: str = ""  # PromQL (metric) or LogQL (log) that shows it
    count: int = 1  # log events folded into this evidence
    sample: str = ""  # one representative log line, redacted


@dataclass(frozen=True)
class Hypothesis:
    """A ranked cause with the evidence that supports it and how to verify it."""

    cause: str
    confidence: float
    brokers: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    summary: str = ""
    verification: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True)
class SourceReport:
    """What one source returned: ok, no data, partial (and what is missing), error."""

    source: str
    status: SourceStatus
    message: str = ""


@dataclass(frozen=True)
class Incident:
    window: Window
    cluster: str
    brokers: list[str]
    status: Status
    started_at: datetime | None = None
    summary: str = ""
    hypotheses: list[Hypothesis] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)

    def evidence_by_id(self) -> dict[str, Evidence]:
        return {e.id: e for e in self.evidence}

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        return from_jsonable(cls, data)

    @classmethod
    def from_json(cls, text: str) -> Incident:
        return cls.from_dict(json.loads(text))


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, datetimes to ISO strings; recursive."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def from_jsonable(tp: Any, data: Any) -> Any:
    """Inverse of `to_jsonable`, driven by the dataclass type hints."""
    if data is None:
        return None
    origin = get_origin(tp)
    if origin is list:
        (inner,) = get_args(tp)
        return [from_jsonable(inner, v) for v in data]
    if origin is not None and type(None) in get_args(tp):  # Optional[X] / X | None
        inner = next(a for a in get_args(tp) if a is not type(None))
        return from_jsonable(inner, data)
    if dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{tp.__name__}: unknown keys {sorted(unknown)}")
        return tp(**{k: from_jsonable(hints[k], v) for k, v in data.items()})
    if tp is datetime:
        return utc(datetime.fromisoformat(data.replace("Z", "+00:00")))
    if tp is float and isinstance(data, int):
        return float(data)
    return data
