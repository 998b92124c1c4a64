"""Rules that would have caught this incident, and a promtool test built from its own series.

For each metric evidence of a diagnosed incident whose signal has a recording rule, the
threshold sits between the worst value seen before the change and the worst value seen after
it (`margin` of the way from normal to observed), and `for:` is half of how long the incident
held above it (capped). The alerts read the recorded series from kafka.rules.yml, so the test
feeds the incident's recorded values (resampled to 1 minute) as that series and checks the
alert is silent the minute before it fires and firing at the minute the rule says it would.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from app.model import Evidence, Incident, iso, utc
from app.rules.config import DEFAULT, RulesConfig
from app.rules.gotemplate import expand
from app.rules.kafka import record_for
from app.rules.model import AlertRule, RuleGroup
from app.rules.render import dump, rules_yaml
from app.signals import Library, load_library

MAX_FOR_MINUTES = 5


class NoRules(ValueError):
    """The incident has no metric evidence a rule can be built from; the message says why."""


@dataclass(frozen=True)
class IncidentAlert:
    rule: AlertRule
    signal: str
    broker: str | None
    threshold: float
    direction: str
    normal: float
    observed: float
    series_labels: dict[str, str]
    values: list[float | None]  # 1-minute samples from `start`
    start: datetime
    fires_at: int  # minute index
    value_at_fire: float


@dataclass(frozen=True)
class IncidentRules:
    alerts: list[IncidentAlert]
    rules_yaml: str
    test_yaml: str
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> list[dict]:
        return [
            {
                "alert": a.rule.alert,
                "signal": a.signal,
                "broker": a.broker,
                "expr": a.rule.expr,
                "for": a.rule.for_,
                "threshold": a.threshold,
                "normal": a.normal,
                "observed": a.observed,
                "fires_at": iso(a.start + pd.Timedelta(minutes=a.fires_at).to_pytimedelta()),
            }
            for a in self.alerts
        ]


def camel(signal: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in signal.split("_"))


def _fmt(value: float) -> str:
    text = f"{value:.6g}"
    return text if "e" not in text else repr(float(text))


def minute_samples(series: pd.Series, start: datetime, end: datetime) -> list[float | None]:
    """Last value per minute from `start`, carried forward (promtool sees no gaps we don't)."""
    index = pd.date_range(
        pd.Timestamp(start).floor("min"), pd.Timestamp(end).ceil("min"), freq="1min", tz="UTC"
    )
    values = series.sort_index()
    values = values[~values.index.duplicated(keep="last")]
    sampled = values.reindex(values.index.union(index)).ffill().reindex(index)
    return [None if pd.isna(v) else float(v) for v in sampled]


def first_firing(
    values: list[float | None], threshold: float, direction: str, for_minutes: int
) -> int | None:
    """The first minute an alert `value <op> threshold` with `for:` would fire (Prometheus semantics)."""
    active_since = None
    for i, v in enumerate(values):
        true = v is not None and (v > threshold if direction == "up" else v < threshold)
        if not true:
            active_since = None
            continue
        if active_since is None:
            active_since = i
        if i - active_since >= for_minutes:
            return i
    return None


def _longest_run(values: list[float | None], threshold: float, direction: str) -> int:
    best = run = 0
    for v in values:
        true = v is not None and (v > threshold if direction == "up" else v < threshold)
        run = run + 1 if true else 0
        best = max(best, run)
    return best


def _series_for(metrics: pd.DataFrame, evidence: Evidence) -> tuple[pd.Series, dict[str, str]] | None:
    rows = metrics[metrics["signal"] == evidence.signal]
    if evidence.broker is not None:
        rows = rows[rows["broker"].astype(str) == str(evidence.broker)]
    if rows.empty:
        return None
    best = None
    for labels, group in rows.groupby("labels", sort=True):
        series = pd.Series(group["value"].to_numpy(float), index=pd.DatetimeIndex(group["ts"]))
        spread = float(series.max() - series.min()) if series.notna().any() else -1.0
        if best is None or spread > best[0]:
            best = (spread, series, labels)
    try:
        parsed = json.loads(best[2]) if best[2] else {}
    except (TypeError, json.JSONDecodeError):
        parsed = {}
    return best[1], {str(k): str(v) for k, v in (parsed or {}).items()}


def supporting_evidence(incident: Incident, share: float = 0.5) -> list[Evidence]:
    """Evidence behind the leading hypotheses (confidence >= `share` of the top one), else all of it.

    A rule per side effect (throughput moving because a broker left) would page for the wrong
    thing; the evidence the diagnosis ranked first is what should have paged.
    """
    if not incident.hypotheses:
        return list(incident.evidence)
    top = max(h.confidence for h in incident.hypotheses)
    wanted = {eid for h in incident.hypotheses if h.confidence >= share * top for eid in h.evidence}
    picked = [e for e in incident.evidence if e.id in wanted]
    return picked if any(e.kind == "metric" for e in picked) else list(incident.evidence)


def rules_for_incident(
    incident: Incident,
    metrics: pd.DataFrame,
    *,
    library: Library | None = None,
    cfg: RulesConfig = DEFAULT,
    margin: float = 0.5,
) -> IncidentRules:
    """Alert rules whose thresholds come from the incident's observed values, with their test."""
    if not 0 < margin < 1:
        raise ValueError(
            f"margin {margin} must be between 0 and 1 (a fraction of the normal-to-observed gap)"
        )
    library = library or load_library()
    skipped: list[str] = []
    chosen: dict[str, IncidentAlert] = {}
    for ev in supporting_evidence(incident):
        if ev.kind != "metric":
            continue
        try:
            rec = record_for(ev.signal, cfg)
            signal = library.signal(ev.signal)
        except KeyError:
            skipped.append(f"{ev.id} {ev.signal}: no recording rule for this signal")
            continue
        found = _series_for(metrics, ev)
        if found is None:
            skipped.append(f"{ev.id} {ev.signal}: no recorded series for broker {ev.broker}")
            continue
        series, labels = found
        at = pd.Timestamp(utc(ev.at))
        before, after = series[series.index < at].dropna(), series[series.index >= at].dropna()
        if before.empty or after.empty:
            skipped.append(f"{ev.id} {ev.signal}: needs values both before and after {iso(ev.at)}")
            continue
        direction = signal.bad.direction
        if direction == "either":
            direction = "up" if (ev.value or 0) >= (ev.before or 0) else "down"
        normal, observed = (before.max(), after.max()) if direction == "up" else (before.min(), after.min())
        if (direction == "up" and observed <= normal) or (direction == "down" and observed >= normal):
            skipped.append(f"{ev.id} {ev.signal}: the incident never went past the levels seen before it")
            continue
        threshold = float(_fmt(normal + margin * (observed - normal)))
        start = pd.Timestamp(min(series.index.min(), pd.Timestamp(incident.window.start)))
        values = minute_samples(series, start, max(series.index.max(), incident.window.end))
        run = _longest_run(values, threshold, direction)
        for_minutes = min(MAX_FOR_MINUTES, max(1, run // 2)) if run >= 2 else 0
        fires = first_firing(values, threshold, direction, for_minutes)
        if fires is None or fires < 1:
            skipped.append(f"{ev.id} {ev.signal}: at 1-minute resolution it never stays past {threshold:g}")
            continue
        name = f"KafkaIncident{camel(ev.signal)}"
        series_labels = {cfg.cluster_label: incident.cluster, **labels}
        if ev.broker is not None:
            series_labels[cfg.broker_label] = str(ev.broker)
        series_labels.update(dict(re.findall(r'(\w+)="([^"]*)"', rec.matchers)))
        op = ">" if direction == "up" else "<"
        selector = rec.record + (f"{{{rec.matchers}}}" if rec.matchers else "")
        rule = AlertRule(
            alert=name,
            expr=f"{selector} {op} {_fmt(threshold)}",
            for_minutes=for_minutes,
            severity="warning",
            summary=f"Kafka signal {ev.signal} is past the level it reached in a past incident.",
            description=(
                f"{ev.signal} = {{{{ $value | humanize }}}} ({signal.unit.replace('_', ' ')}) "
                f"{_where(signal.scope, cfg)}"
                f" is past {_fmt(threshold)}, the level it crossed in the incident of {iso(ev.at)} (normal "
                f"{_fmt(float(normal))}, observed {_fmt(float(observed))}). Open the app on this window "
                "and check the incident's first hypothesis."
            ),
            runbook="incident-rules",
            signals=(ev.signal,),
            threshold=f"{op} {_fmt(threshold)}",
        )
        candidate = IncidentAlert(
            rule,
            ev.signal,
            ev.broker,
            threshold,
            direction,
            float(normal),
            float(observed),
            series_labels,
            values,
            start.to_pydatetime(),
            fires,
            float(values[fires]),
        )
        gap = abs(observed - normal)
        if ev.signal not in chosen or gap > abs(chosen[ev.signal].observed - chosen[ev.signal].normal):
            chosen[ev.signal] = candidate
    alerts = sorted(chosen.values(), key=lambda a: a.rule.alert)
    if not alerts:
        reason = "; ".join(skipped) or "the incident has no metric evidence"
        raise NoRules(f"no rule could be built from this incident: {reason}")
    group = RuleGroup(f"kafka.incident.{incident.cluster}", alerts=tuple(a.rule for a in alerts))
    header = (
        f"# Rules that would have caught the incident of {iso(incident.started_at or incident.window.start)} "
        f"in cluster {incident.cluster}.\n# They read recorded series from recording_rules/kafka.rules.yml: "
        "load both files.\n"
    )
    return IncidentRules(alerts, rules_yaml([group], cfg, header=header), _test_yaml(alerts, cfg), skipped)


def _where(scope: str, cfg: RulesConfig) -> str:
    cluster = f"of cluster {{{{ $labels.{cfg.cluster_label} }}}}"
    if scope == "group":
        return f"for consumer group {{{{ $labels.consumergroup }}}} {cluster}"
    if scope == "cluster":
        return f"in cluster {{{{ $labels.{cfg.cluster_label} }}}}"
    return f"on broker {{{{ $labels.{cfg.broker_label} }}}} {cluster}"


def _promtool_values(values: list[float | None]) -> str:
    return " ".join(
        "_" if v is None else _fmt(v) if not math.isinf(v) else ("Inf" if v > 0 else "-Inf") for v in values
    )


def _test_yaml(alerts: list[IncidentAlert], cfg: RulesConfig) -> str:
    tests = []
    for a in alerts:
        labels = {**a.series_labels, "severity": a.rule.severity}
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(a.series_labels.items()))
        tests.append(
            {
                "name": f"{a.rule.alert}: silent at {a.fires_at - 1}m, firing at {a.fires_at}m "
                f"(recorded series from {iso(a.start)})",
                "interval": "1m",
                "input_series": [
                    {
                        "series": f"{record_for(a.signal, cfg).record}{{{inner}}}",
                        "values": _promtool_values(a.values),
                    }
                ],
                "alert_rule_test": [
                    {"eval_time": f"{max(a.fires_at - 1, 0)}m", "alertname": a.rule.alert, "exp_alerts": []},
                    {
                        "eval_time": f"{a.fires_at}m",
                        "alertname": a.rule.alert,
                        "exp_alerts": [
                            {
                                "exp_labels": labels,
                                "exp_annotations": {
                                    "summary": a.rule.summary,
                                    "description": expand(a.rule.description, labels, a.value_at_fire),
                                    "runbook_url": cfg.runbook_url(a.rule.runbook),
                                },
                            }
                        ],
                    },
                ],
            }
        )
    doc = {"rule_files": ["incident.rules.yml"], "evaluation_interval": "1m", "tests": tests}
    return "# promtool test rules incident.rules.test.yml (next to incident.rules.yml)\n" + dump(doc)


def verify(rules: IncidentRules) -> dict:
    """Run promtool check + test on the generated files in a temporary folder."""
    import tempfile
    from pathlib import Path

    from app.rules import promtool

    with tempfile.TemporaryDirectory(prefix="incident-rules-") as tmp:
        folder = Path(tmp)
        (folder / "incident.rules.yml").write_text(rules.rules_yaml)
        (folder / "incident.rules.test.yml").write_text(rules.test_yaml)
        try:
            checked = promtool.check_rules(folder / "incident.rules.yml")
            tested = promtool.test_rules(folder / "incident.rules.test.yml") if checked.ok else checked
        except promtool.PromtoolMissing as exc:
            return {"ok": None, "message": str(exc)}
    ok = checked.ok and tested.ok
    message = "check and unit test passed" if ok else (tested.output or checked.output)[-2000:]
    return {"ok": ok, "message": message}
