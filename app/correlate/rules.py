"""Correlation rules as data: a pack's YAML validated into typed models on load.

A rule says which symptoms (metric changes, log bursts, data gaps), seen on which broker relative
to a candidate culprit and at what time distance from the onset, support one cause; how a human
verifies it; and what to do about it. Unknown keys are rejected so a typo in the YAML fails loudly.
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PACKS = Path(__file__).resolve().parent.parent / "packs"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
DEFAULT_PACK = "kafka"


class RulesError(ValueError):
    """A correlation rule file is missing or invalid; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Symptom(_Strict):
    """One observable fact that supports (or, with `contradicts`, weakens) a cause."""

    id: str
    metric: list[str] | None = None  # signal roles (see `signals`) or raw signal ids
    log: list[str] | None = None  # event classes
    gap: list[str] | None = None  # gap kinds: "metrics" (series stopped), "logs" (stream went silent)
    direction: Literal["up", "down", "any"] = "any"
    where: Literal["culprit", "others", "any"] = (
        "culprit"  # the broker that shows it, relative to the culprit
    )
    # whom it is about (ISR victim, fenced broker); not_culprit also accepts "nobody in particular",
    # self is the culprit or nobody in particular (a broker's own start-up, not its news of others)
    subject: Literal["culprit", "others", "not_culprit", "self", "any"] = "any"
    within: tuple[float, float] = (-60.0, 300.0)  # seconds relative to the onset
    min_ratio: float | None = None  # after/before (up) or before/after (down)
    held_min: float | None = None  # metric only: its last value before the onset was at least this
    min_count: int = 1  # log events folded into the burst
    min_brokers: int = 1  # distinct brokers that must show it
    min_hits: int = 1  # separate observations of it in the time window (repeated flaps)
    weight: float = 1.0
    anchor: bool = False  # may set the onset (the moment the cause began)
    contradicts: bool = False  # seen => subtract the weight

    @model_validator(mode="after")
    def _one_source(self) -> Symptom:
        given = [k for k in ("metric", "log", "gap") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                f"symptom {self.id!r} needs exactly one of metric/log/gap, got {given or 'none'}"
            )
        if self.held_min is not None and not self.metric:
            raise ValueError(f"symptom {self.id!r}: held_min needs a metric")
        if self.within[0] > self.within[1]:
            raise ValueError(f"symptom {self.id!r}: within {self.within} is not [earliest, latest]")
        return self


class Verify(_Strict):
    """A query a human runs: a signal role (PromQL) or an event class (LogQL)."""

    promql: str | None = None
    logql: str | None = None
    broker: Literal["culprit", "all"] = "culprit"
    why: str = ""


class ActionSpec(_Strict):
    title: str
    command: str
    risk: Literal["safe", "low", "medium", "high"] = "safe"


class Rule(_Strict):
    cause: str
    title: str
    summary: str  # str.format with {broker}, {onset}, {brokers}
    scope: Literal["broker", "cluster"] = "broker"
    prior: float = 0.0  # added to the score: how common the cause is when the evidence ties
    # A degradation a hard failure can cause by itself (lag, rebalances, load moving to survivors):
    # when it starts inside such a failure on a broker it touched, it competes with that failure.
    may_be_consequence: bool = False
    symptoms: list[Symptom]
    requires: list[list[str]] = Field(default_factory=list)  # each group: at least one must be seen
    verification: list[Verify] = Field(default_factory=list)
    actions: list[ActionSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_ids(self) -> Rule:
        ids = [s.id for s in self.symptoms]
        if len(ids) != len(set(ids)):
            raise ValueError(f"rule {self.cause!r}: duplicate symptom ids")
        for group in self.requires:
            unknown = set(group) - set(ids)
            if unknown:
                raise ValueError(f"rule {self.cause!r}: requires unknown symptom ids {sorted(unknown)}")
        if not any(s.anchor for s in self.symptoms):
            raise ValueError(f"rule {self.cause!r}: no anchor symptom, so no onset can be found")
        return self


class Scoring(_Strict):
    """How raw rule scores become a ranked, calibrated confidence (see app/correlate/score.py)."""

    temperature: float = 1.0
    null_score: float = 3.0  # the score of "nothing in particular happened"
    min_confidence: float = 0.4  # below this the window is quiet
    min_score: float = 3.0  # and the top raw score must reach this
    first_mover_bonus: float = 1.0
    finding_threshold: float = 0.5  # detector scores below this are ignored
    burst_p: float = 0.01  # Poisson tail probability that makes a bin of log events a burst
    burst_bin_s: float = 15.0
    episode_gap_s: float = 60.0
    startup_replay_s: float = 60.0
    log_gap_min_s: float = 30.0
    metric_gap_steps: int = 3
    lead_lag_max_s: float = 180.0
    max_hypotheses: int = 5


class Pack(_Strict):
    pack: str
    signals: dict[str, str]  # role -> regex over signal ids
    log_filters: dict[str, str] = Field(default_factory=dict)  # event class -> LogQL line regex (fallback)
    ignore_log_classes: list[str] = Field(default_factory=list)  # routine classes never taken as bursts
    # A (re)starting process replays history (old fencings, elections) into its log: its other log
    # bursts right after a burst of these classes describe the past, not new events.
    startup_log_classes: list[str] = Field(default_factory=list)
    scoring: Scoring = Scoring()
    rules: list[Rule]

    @model_validator(mode="after")
    def _valid(self) -> Pack:
        for role, pattern in self.signals.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"signals.{role}: bad regex {pattern!r}: {exc}") from None
        causes = [r.cause for r in self.rules]
        if len(causes) != len(set(causes)):
            raise ValueError("duplicate cause ids in rules")
        return self

    def roles_of(self, signal: str) -> frozenset[str]:
        """The roles a signal id plays, plus the id itself (so rules may name raw ids)."""
        found = self._role_cache.get(signal)
        if found is None:
            found = self._role_cache[signal] = _roles(self._signal_items, signal)
        return found

    @cached_property
    def _signal_items(self) -> tuple[tuple[str, str], ...]:
        # Sorted once per pack: roles_of runs for every (rule, symptom, observation).
        return tuple(sorted(self.signals.items()))

    @cached_property
    def _role_cache(self) -> dict[str, frozenset[str]]:
        # Per pack, keyed by the signal alone: the functools cache of _roles hashes the whole
        # role table on every call.
        return {}


@cache
def _roles(signals: tuple[tuple[str, str], ...], signal: str) -> frozenset[str]:
    return frozenset({signal, *(role for role, rx in signals if re.search(rx, signal))})


def load_pack(name_or_path: str | Path = DEFAULT_PACK) -> Pack:
    """Load and validate a pack's correlation rules (`kafka` or a path to a YAML file)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PACKS / str(name_or_path) / "correlation.yaml"
    return _load(path.resolve())


@cache
def _load(path: Path) -> Pack:
    if not path.is_file():
        raise RulesError(f"correlation rules {path} not found; give a pack name under {PACKS} or a YAML path")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from None
    try:
        return Pack.model_validate(data)
    except ValidationError as exc:
        raise RulesError(f"{path}: invalid correlation rules:\n{exc}") from None
