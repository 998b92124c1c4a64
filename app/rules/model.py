"""Typed rule records: what the generator builds before anything is written as YAML.

A rule set is data (recording rules, alerts, and each alert's test cases); rendering to
Prometheus YAML and to promtool test files are separate pure steps (`render`, `unittests`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z0-9_]+:[a-z0-9_]+$")
_ALERT_NAME = re.compile(r"^Kafka[A-Z][A-Za-z0-9]+$")
SEVERITIES = ("critical", "warning", "info")


class RuleSpecError(ValueError):
    """A rule definition breaks a naming or labelling convention; the message says which."""


@dataclass(frozen=True)
class RecordingRule:
    """`level:metric:operations`, aggregated with `without (...)`, with a one-line comment."""

    record: str
    expr: str
    comment: str
    signal: str | None = None  # the promql_library signal id this rule records, if any

    def __post_init__(self) -> None:
        if not _RECORD_NAME.match(self.record):
            raise RuleSpecError(f"recording rule {self.record!r} is not named level:metric:operations")
        if "\n" in self.comment or not self.comment.strip():
            raise RuleSpecError(f"recording rule {self.record!r} needs a one-line comment")


@dataclass(frozen=True)
class AlertCase:
    """One promtool scenario for an alert.

    `series` maps a series selector to promtool's expanding notation ("0+0x10 5x30").
    `onset` is the first evaluation minute at which the expression is true; the alert must
    be silent at onset + for - 1m and firing at onset + for with `labels` and `value`.
    """

    series: dict[str, str]
    onset: int
    labels: dict[str, str]
    value: float
    name: str = ""


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_minutes: int
    severity: str
    summary: str
    description: str  # a Go template; says what to do
    runbook: str  # anchor in docs/runbook.md
    cases: tuple[AlertCase, ...] = ()
    signals: tuple[str, ...] = ()  # promql_library signal ids it watches
    threshold: str = ""  # human statement of the condition, for notes and the UI
    extra_labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _ALERT_NAME.match(self.alert):
            raise RuleSpecError(f"alert {self.alert!r} must be CamelCase with the Kafka prefix")
        if self.severity not in SEVERITIES:
            raise RuleSpecError(f"alert {self.alert}: severity {self.severity!r} not in {SEVERITIES}")
        if "{{" in self.summary:
            raise RuleSpecError(f"alert {self.alert}: summary must be static (no template)")
        if "{{" not in self.description:
            raise RuleSpecError(f"alert {self.alert}: description must be templated")
        if self.for_minutes < 0:
            raise RuleSpecError(f"alert {self.alert}: for must be >= 0 minutes")

    @property
    def for_(self) -> str:
        return f"{self.for_minutes}m"


@dataclass(frozen=True)
class RuleGroup:
    name: str
    recording: tuple[RecordingRule, ...] = ()
    alerts: tuple[AlertRule, ...] = ()
    interval: str | None = None
