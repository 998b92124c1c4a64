"""Headless calls shared by the CLI, the MCP server and the UI.

Each function takes a `Source` and plain arguments (strings as users and agents send
them), validates them with messages that say what to fix, runs the core, and returns
JSON-ready dicts with bounded size. No transport or UI code here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd

import detectors
from app.detect import series_groups
from app.model import Window, iso, to_jsonable
from app.pipeline import Diagnosis, UnknownBroker, classify_frame, diagnose
from app.signals import load_library
from app.sources.base import Source, SourceError
from app.timeparse import TimeParseError, parse_window

MAX_WINDOW = timedelta(days=8)
MAX_LOG_EVENTS = 2000
MAX_SERIES_POINTS = 2000


class BadRequest(ValueError):
    """Input an agent or user can fix; the message says how."""


@dataclass(frozen=True)
class Request:
    window: Window
    broker: str  # a broker id or "all"


def resolve(source: Source, start: str | None, end: str | None, broker: str | None) -> Request:
    """Validate window and broker against the source; defaults are the source's window and all brokers."""
    try:
        window = parse_window(start, end, default=source.default_window())
    except (TimeParseError, ValueError) as exc:
        raise BadRequest(str(exc)) from None
    if window.end - window.start > MAX_WINDOW:
        raise BadRequest(f"window of {window.end - window.start} exceeds {MAX_WINDOW}; narrow 'from'/'to'")
    broker = str(broker) if broker not in (None, "") else "all"
    try:
        known = source.brokers()
    except SourceError:
        return Request(window, broker)  # cannot check now; the diagnosis reports the failed source
    if broker != "all" and broker not in known:
        raise BadRequest(
            f"broker {_short(broker)} is not in this cluster; known brokers: {', '.join(known) or 'none'}"
        )
    return Request(window, broker)


def clusters_and_brokers(source: Source) -> dict[str, Any]:
    window = source.default_window()
    return {
        "source": source.name,
        "cluster": source.cluster(),
        "brokers": source.brokers(),
        "default_window": None if window is None else {"from": iso(window.start), "to": iso(window.end)},
    }


def metric_snapshot(
    source: Source,
    start: str | None = None,
    end: str | None = None,
    broker: str | None = None,
    signals: list[str] | None = None,
    include_series: bool = False,
    max_points: int = 200,
) -> dict[str, Any]:
    """Per-signal, per-broker summaries and change points; raw points only when asked, capped."""
    request = resolve(source, start, end, broker)
    max_points = max(1, min(int(max_points), MAX_SERIES_POINTS))
    result = source.metrics(request.window, signals=signals)
    frame = result.frame
    if request.broker != "all":
        frame = frame[frame["broker"] == request.broker]
    kinds = load_library().kinds()  # the Kafka kinds, not change_points' generic default
    summaries = []
    for (signal, series_broker, labels), series in series_groups(frame):
        values = series.dropna()
        entry: dict[str, Any] = {
            "signal": signal,
            "broker": series_broker,
            "labels": labels,
            "points": int(len(values)),
            "min": _num(values.min()),
            "max": _num(values.max()),
            "mean": _num(values.mean()),
            "last": _num(values.iloc[-1]) if len(values) else None,
            "change_points": [
                {
                    "at": iso(pd.Timestamp(cp.at).to_pydatetime(warn=False)),
                    "before": _num(cp.before),
                    "after": _num(cp.after),
                    "direction": cp.direction,
                    "score": round(float(cp.score), 3),
                }
                for cp in detectors.change_points(series, kind=kinds.get(signal, "gauge"))
                if cp.score >= detectors.REPORT_THRESHOLD
            ],
        }
        if include_series:
            step = max(1, len(values) // max_points)
            sampled = values.iloc[::step]
            entry["series"] = [[iso(ts.to_pydatetime(warn=False)), _num(v)] for ts, v in sampled.items()]
        summaries.append(entry)
    return {
        "window": {"from": iso(request.window.start), "to": iso(request.window.end)},
        "broker": request.broker,
        "step_seconds": result.step_seconds,
        "signals": summaries,
        "sources": to_jsonable(result.reports),
    }


def pull_logs(
    source: Source,
    start: str | None = None,
    end: str | None = None,
    broker: str | None = None,
    classes: list[str] | None = None,
    limit: int = 200,
) -> dict[str, Any]:
    """Classified log events, newest last, at most `limit` (cap MAX_LOG_EVENTS); counts cover all."""
    request = resolve(source, start, end, broker)
    limit = max(1, min(int(limit), MAX_LOG_EVENTS))
    result = source.logs(request.window, brokers=None if request.broker == "all" else [request.broker])
    events = classify_frame(result.frame)
    wanted = set(classes) if classes else None
    selected = [e for e in events if wanted is None or e.event_class in wanted]
    counts = Counter(e.event_class for e in selected)
    return {
        "window": {"from": iso(request.window.start), "to": iso(request.window.end)},
        "broker": request.broker,
        "total": len(selected),
        "returned": min(limit, len(selected)),
        "truncated": len(selected) > limit or result.truncated,
        "counts": dict(counts.most_common()),
        "events": [_event_dict(e) for e in selected[-limit:]],
        "unknown_families": unknown_families(events),
        "sources": to_jsonable(result.reports),
    }


def unknown_families(events, limit: int = 20) -> list[dict[str, Any]]:
    """Lines no taxonomy class fits, grouped into drain3 templates (most frequent first), redacted."""
    from app.redact import redact
    from app.taxonomy import group_unknown

    families = []
    for template in group_unknown(events)[:limit]:
        families.append(
            {
                "template": redact(template.template)[:500],
                "count": template.count,
                "severities": template.severities,
                "first": iso(template.first) if template.first else None,
                "last": iso(template.last) if template.last else None,
                "example": redact(template.example)[:500],
            }
        )
    return families


def diagnose_window(
    source: Source, start: str | None = None, end: str | None = None, broker: str | None = None
) -> Diagnosis:
    request = resolve(source, start, end, broker)
    try:
        return diagnose(source, window=request.window, broker=request.broker)
    except UnknownBroker as exc:
        raise BadRequest(str(exc)) from None


def _event_dict(event) -> dict[str, Any]:
    from app.redact import redact

    data = to_jsonable(event)
    data["line"] = redact(data["line"][:2000])
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number or number in (float("inf"), float("-inf")) else round(number, 6)


def note_for(incident) -> str:
    """The markdown note for an incident (deterministic; agents get evidence, not prose from an LLM)."""
    from app.render import note_markdown

    return note_markdown(incident, no_llm=True)


def incident_rules(diagnosis: Diagnosis, margin: float = 0.5) -> dict[str, Any]:
    """Alert rules fitted to the diagnosed incident, their promtool test, and promtool's verdict."""
    from app.rules.incident import NoRules, rules_for_incident, verify

    try:
        rules = rules_for_incident(diagnosis.incident, diagnosis.metrics, margin=margin)
    except NoRules as exc:
        raise BadRequest(str(exc)) from None
    return {
        "yaml": rules.rules_yaml,
        "test_yaml": rules.test_yaml,
        "alerts": rules.summary(),
        "skipped": rules.skipped,
        "promtool": verify(rules),
        "note": "the alerts read recorded series: load recording_rules/kafka.rules.yml next to them",
    }


def _short(value: object, limit: int = 60) -> str:
    """repr() of user input for messages, cut so a 1 MB argument cannot flood the terminal."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(str(value))} characters)"


def check_connection(
    prometheus: str, loki: str | None = None, bootstrap: str | None = None
) -> dict[str, Any]:
    """What the live servers say: profile, brokers, versions, Loki labels, Kafka (same as `check`)."""
    from app.sources.live import LiveSource

    try:
        source = LiveSource(prometheus, loki_url=loki, bootstrap_servers=bootstrap)
    except (KeyError, ValueError) as exc:
        raise BadRequest(str(exc).strip("'\"")) from None
    found = source.describe()
    found["queries_sent"] = source.queries_sent()
    return found


def cluster_now(bootstrap: str, timeout: float = 10.0) -> dict[str, Any]:
    """The live "now" view from Kafka admin: brokers, controller, under-replicated partitions, lag."""
    from app.sources.kafka_admin import KafkaAdmin

    try:
        admin = KafkaAdmin(bootstrap, timeout=timeout)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    try:
        return admin.view().to_dict()
    finally:
        admin.close()
