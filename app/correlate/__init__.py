"""Correlation: findings + log events → one ranked, evidence-backed `Incident`.

    observe   findings, log bursts, metric and log gaps → Observations        (observe.py)
    match     pack rules × culprit brokers → scored Candidates with an onset   (match.py, rules.py)
    score     scores → calibrated confidence; quiet or not                     (score.py)
    align     first broker to change; log-burst lead/lag vs metric changes     (align.py)
    assemble  Evidence E1..En (deterministic order), Hypotheses, Incident      (this module)

The rules are data (app/packs/<pack>/correlation.yaml); nothing here knows Kafka names.
"""

from __future__ import annotations

from operator import attrgetter

import numpy as np
import pandas as pd

from app.correlate.align import LeadLag, first_changes, lead_lag
from app.correlate.match import Candidate, candidates
from app.correlate.observe import (
    EventTable,
    Levels,
    Observation,
    drop_startup_replay,
    from_findings,
    liveness_outages,
    log_bursts,
    log_silences,
    metric_gaps,
    refine_onsets,
)
from app.correlate.queries import logql, promql, signals_for
from app.correlate.rules import Pack, RulesError, load_pack
from app.correlate.score import is_quiet, leaders, rank
from app.model import Action, Evidence, Finding, Hypothesis, Incident, LogEvent, SourceReport, Window, iso

__all__ = ["Candidate", "LeadLag", "Observation", "Pack", "RulesError", "correlate", "load_pack", "observe"]


def observe(
    pack: Pack,
    window: Window,
    findings: list[Finding],
    events: list[LogEvent],
    metrics: pd.DataFrame | None = None,
    step_seconds: float | None = None,
    table: EventTable | None = None,
) -> list[Observation]:
    """Everything the rules can match, in a deterministic order (`table`: EventTable.of(events))."""
    s = pack.scoring
    table = EventTable.of(events) if table is None else table
    obs = refine_onsets(from_findings(findings, s.finding_threshold, own_bursts=bool(events)), metrics)
    obs += log_bursts(
        table,
        window.start,
        window.end,
        bin_s=s.burst_bin_s,
        p=s.burst_p,
        episode_gap_s=s.episode_gap_s,
        ignore=frozenset(pack.ignore_log_classes),
    )
    step = step_seconds or _step_of(metrics)
    liveness = frozenset(sig for sig in _signals(metrics) if "broker_up" in pack.roles_of(sig))
    obs += metric_gaps(metrics, step or 0.0, s.metric_gap_steps, window.end, exclude=liveness)
    obs += log_silences(table, window.end, s.log_gap_min_s)
    up_signals = frozenset(o.name for o in obs if o.kind == "metric" and "broker_up" in pack.roles_of(o.name))
    gaps = [o for o in obs if o.kind == "gap" and o.name == "metrics"]
    obs += [
        outage
        for outage in liveness_outages(obs, up_signals, (step or 5.0) * s.metric_gap_steps, window.end)
        if not any(g.broker == outage.broker and abs((g.at - outage.at).total_seconds()) <= 30 for g in gaps)
    ]
    obs = drop_startup_replay(obs, frozenset(pack.startup_log_classes), s.startup_replay_s)
    return sorted(obs, key=Observation.sort_key)


def correlate(
    window: Window,
    cluster: str,
    brokers: list[str],
    findings: list[Finding],
    events: list[LogEvent],
    reports: list[SourceReport],
    focus: str | None = None,
    queries: dict[str, str] | None = None,
    metrics: pd.DataFrame | None = None,
    step_seconds: float | None = None,
    pack: Pack | str = "kafka",
) -> Incident:
    """Rank causes for the window; `quiet` when no rule is clearly above the null."""
    pack = load_pack(pack) if isinstance(pack, str) else pack
    available = dict(queries or {})
    if metrics is not None and not metrics.empty and not available:
        first = metrics.drop_duplicates("signal")
        available = dict(zip(first["signal"].astype(str), first["query"].astype(str), strict=True))
    table = EventTable.of(events)
    observations = observe(pack, window, findings, events, metrics, step_seconds, table)
    found = _dedupe(candidates(pack, observations, sorted(brokers), Levels(metrics)))
    ranked = rank(found, pack.scoring)
    missing = [
        f"{r.source}: {r.message or r.status}" for r in reports if r.status in ("error", "partial", "no_data")
    ]
    missing += _gap_notes(observations)
    if not events:
        missing.append("logs: no log lines in the window, so log symptoms could not be checked")
    if is_quiet(ranked, pack.scoring):
        return Incident(
            window=window,
            cluster=cluster,
            brokers=brokers,
            status="quiet",
            missing=missing,
            sources=reports,
            summary=_quiet_summary(observations, [c for c, _ in ranked]),
        )

    kept = [(c, p) for c, p in ranked if p >= 0.05][: pack.scoring.max_hypotheses]
    evidence, ids = _evidence(pack, kept, observations, cluster, available)
    firsts = _first_lines(events, table)
    hypotheses = [_hypothesis(pack, c, p, ids, cluster, available, events, firsts) for c, p in kept]
    top = kept[0][0]
    missing += _missing_signals(pack, top, available)
    return Incident(
        window=window,
        cluster=cluster,
        brokers=brokers,
        status="incident",
        started_at=top.onset,
        summary=_summary(top, kept[0][1], observations, focus, leaders(found, pack.scoring)[1:]),
        hypotheses=hypotheses,
        evidence=evidence,
        missing=missing,
        sources=reports,
    )


def _dedupe(ranked: list[Candidate]) -> list[Candidate]:
    """One candidate per (cause, culprit); `candidates` already returns the best first."""
    seen, out = set(), []
    for c in ranked:
        if (c.rule.cause, c.broker) not in seen:
            seen.add((c.rule.cause, c.broker))
            out.append(c)
    return out


def _evidence(
    pack: Pack,
    kept: list[tuple[Candidate, float]],
    observations: list[Observation],
    cluster: str,
    available: dict[str, str],
) -> tuple[list[Evidence], dict[tuple, str]]:
    cited: dict[tuple, Observation] = {}
    for c, _ in kept:
        for o in c.observations:
            cited[o.sort_key()] = o
    metric_changes = [o for o in observations if o.kind == "metric" and o.direction != "none"]
    ids = {key: f"E{i}" for i, key in enumerate(sorted(cited), start=1)}
    out = []
    for key in sorted(cited):
        o = cited[key]
        link = lead_lag(o, metric_changes, pack.scoring.lead_lag_max_s) if o.kind == "log" else None
        out.append(_to_evidence(pack, ids[key], o, link, cluster, available, ids))
    return out, ids


def _to_evidence(
    pack: Pack,
    eid: str,
    o: Observation,
    link: LeadLag | None,
    cluster: str,
    available: dict[str, str],
    ids: dict[tuple, str],
) -> Evidence:
    where = f"broker {o.broker}" if o.broker else "the cluster"
    if o.kind == "metric" and o.detail == "held just before the onset":
        return Evidence(
            id=eid,
            kind="metric",
            signal=o.name,
            broker=o.broker,
            at=o.at,
            value=o.after,
            before=o.before,
            summary=f"{o.name} was {_num(o.after)} on {where} just before the onset",
            query=promql(o.name, o.broker, cluster, available),
        )
    if o.kind == "metric":
        verb = {"up": "rose", "down": "fell"}.get(o.direction, "changed")
        values = (
            f" from {_num(o.before)} to {_num(o.after)}"
            if o.before is not None and o.after is not None
            else ""
        )
        detail = f" [{o.detail}]" if o.detail else ""
        return Evidence(
            id=eid,
            kind="metric",
            signal=o.name,
            broker=o.broker,
            at=o.at,
            value=o.after,
            before=o.before,
            summary=f"{o.name}{detail} {verb}{values} on {where} (score {o.score:.2f})",
            query=promql(o.name, o.broker, cluster, available),
        )
    if o.kind == "gap":
        liveness = [s for s in sorted(available) if "broker_up" in pack.roles_of(s)]
        query = promql(liveness[0], o.broker, cluster, available) if liveness else ""
        if o.name == "logs":
            query = logql(pack, "", o.broker, cluster)
        return Evidence(
            id=eid,
            kind="metric" if o.name == "metrics" else "log",
            signal=f"{o.name}_gap",
            broker=o.broker,
            at=o.at,
            summary=f"{where}: {o.detail}" + (f", resumed {iso(o.end)}" if o.end else ""),
            query=query,
            count=0,
        )
    about = f" about broker {o.subject}" if o.subject else ""
    span = f" over {(o.end - o.at).total_seconds():.0f}s" if o.end and o.end > o.at else ""
    timing = ""
    if link is not None:
        rel = "after" if link.seconds >= 0 else "before"
        verb = {"up": "rose", "down": "fell"}.get(link.metric.direction, "changed")
        mid = ids.get(link.metric.sort_key())
        timing = (
            f"; {abs(link.seconds):.1f}s {rel} {link.metric.name} {verb} on broker {link.metric.broker}"
            + (f" ({mid})" if mid else "")
        )
    return Evidence(
        id=eid,
        kind="log",
        signal=o.name,
        broker=o.broker,
        at=o.at,
        value=float(o.count),
        summary=f"{o.count} x {o.name} on {where}{about}{span}{timing}",
        query=logql(pack, o.name, o.broker, cluster, o.sample),
        count=o.count,
        sample=o.sample,
    )


def _hypothesis(
    pack: Pack,
    c: Candidate,
    p: float,
    ids: dict[tuple, str],
    cluster: str,
    available: dict[str, str],
    events: list[LogEvent],
    firsts: dict[str, dict[str | None, tuple]] | None = None,
) -> Hypothesis:
    evidence = sorted({ids[o.sort_key()] for o in c.observations}, key=lambda e: int(e[1:]))
    seen = [m.symptom.id for m in c.matches if not m.symptom.contradicts]
    against = [m.symptom.id for m in c.matches if m.symptom.contradicts]
    broker = c.broker or ",".join(c.brokers) or "all"
    text = c.rule.summary.format(broker=broker, onset=iso(c.onset), brokers=", ".join(c.brokers) or "all")
    text += f" Seen: {', '.join(seen)}."
    if against:
        text += f" Against: {', '.join(against)}."
    if c.first_mover:
        text += f" Broker {c.broker} changed before any other broker."
    samples = _samples(events, c.broker, firsts)
    verification: list[str] = []
    for v in c.rule.verification:
        target = c.broker if v.broker == "culprit" else None
        if v.promql:
            for sig in signals_for(pack, v.promql, available)[:2]:
                verification.append(promql(sig, target, cluster, available))
        if v.logql and v.logql in samples:
            on_target = target is None or any(
                e.event_class == v.logql and target in (e.source_broker, e.broker) for e in events
            )
            where = target if on_target else None
            verification.append(logql(pack, v.logql, where, cluster, samples[v.logql]))
    verification = [q for q in dict.fromkeys(verification) if q]
    culprit = c.broker or "<broker>"
    actions = [
        Action(a.title.replace("{broker}", culprit), a.command.replace("{broker}", culprit), a.risk)
        for a in c.rule.actions
    ]
    return Hypothesis(
        cause=c.rule.cause,
        confidence=p,
        brokers=list(c.brokers),
        evidence=evidence,
        summary=text,
        verification=verification,
        actions=actions,
    )


def _samples(
    events: list[LogEvent], broker: str | None, firsts: dict[str, dict[str | None, tuple]] | None = None
) -> dict[str, str]:
    """One line per event class, preferring the culprit's own stream (for its LogQL filter).

    The earliest line (then the smallest) of the class in the culprit's stream, else in any stream.
    """
    out: dict[str, str] = {}
    for cls, per_stream in (_first_lines(events) if firsts is None else firsts).items():
        own = per_stream.get(broker)
        out[cls] = (own if own is not None else min(per_stream.values()))[2]
    return out


def _first_lines(
    events: list[LogEvent], table: EventTable | None = None
) -> dict[str, dict[str | None, tuple]]:
    """Per event class and emitting stream, the smallest (ts is None, ts, line): one pass shared by
    every hypothesis (sorting all events per hypothesis took 0.2 s on a day of logs)."""
    table = EventTable.of(events) if table is None else table
    out: dict[str, dict[str | None, tuple]] = {}
    if table.events:
        # The earliest time per (class, stream) on arrays; only the events at that time compare lines.
        cls_codes, _ = table.codes("cls")
        stream_codes, streams = pd.factorize(np.array(list(map(_SOURCE, table.events)), dtype=object))
        key = cls_codes.astype(np.int64) * (len(streams) + 1) + (stream_codes + 1)
        order = np.lexsort((table.ns, key))
        ordered = key[order]
        first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        earliest = np.repeat(table.ns[order][first], np.diff(np.r_[first, len(order)]))
        for i in np.sort(order[table.ns[order] == earliest]).tolist():
            e = table.events[i]
            _keep_first(out, e, (False, e.ts, e.line))
    for e in events:
        if e.ts is None:
            _keep_first(out, e, (True, 0, e.line))
    return out


def _keep_first(out: dict[str, dict[str | None, tuple]], e: LogEvent, key: tuple) -> None:
    per_stream = out.setdefault(e.event_class, {})
    held = per_stream.get(e.source_broker)
    if held is None or key < held:
        per_stream[e.source_broker] = key


_SOURCE = attrgetter("source_broker")


def _summary(
    top: Candidate, p: float, observations: list[Observation], focus: str | None, also: list[Candidate]
) -> str:
    where = f"broker {top.broker}" if top.broker else "brokers " + (", ".join(top.brokers) or "all")
    text = f"{top.rule.title} on {where} from {iso(top.onset)} (confidence {p:.2f})."
    order = first_changes((o for o in observations if o.at >= top.onset - _LOOKBACK), prefer=top.broker)
    if order:
        t0 = order[0][1]
        tail = ", ".join(f"{b} (+{(t - t0).total_seconds():.0f}s)" for b, t in order[1:4])
        text += f" First change on broker {order[0][0]} at {iso(t0)}" + (f", then {tail}." if tail else ".")
    for other in also:
        where = f"broker {other.broker}" if other.broker else "the cluster"
        text += f" Separately: {other.rule.title.lower()} on {where} from {iso(other.onset)}."
    if focus and top.broker and focus != top.broker:
        text += (
            f" You asked about broker {focus}; it shows symptoms, the likely origin is broker {top.broker}."
        )
    return text


_LOOKBACK = pd.Timedelta(seconds=15).to_pytimedelta()


def _quiet_summary(observations: list[Observation], ranked: list[Candidate]) -> str:
    changes = sum(1 for o in observations if o.kind == "metric")
    text = "No cause stands out in this window"
    if ranked:
        text += f" (best guess {ranked[0].rule.cause} is too weak to report)"
    return text + f"; {changes} metric change(s) and no incident pattern."


def _gap_notes(observations: list[Observation]) -> list[str]:
    return [
        f"broker {o.broker}: {o.detail} from {iso(o.at)}"
        for o in observations
        if o.kind == "gap" and o.name == "metrics"
    ]


def _missing_signals(pack: Pack, top: Candidate, available: dict[str, str]) -> list[str]:
    roles = sorted({r for s in top.rule.symptoms if s.metric for r in s.metric})
    absent = [r for r in roles if not signals_for(pack, r, available)]
    return (
        [f"metrics: no signal for {', '.join(absent)} in this data; {top.rule.cause} was checked without it"]
        if absent
        else []
    )


def _signals(metrics: pd.DataFrame | None) -> list[str]:
    if metrics is None or metrics.empty:
        return []
    return sorted({str(s) for s in metrics["signal"].unique() if not pd.isna(s)} | _nan_signal(metrics))


def _nan_signal(metrics: pd.DataFrame) -> set[str]:
    # astype(str) made a missing signal the text "nan"; kept so the signal set is unchanged.
    return {"nan"} if metrics["signal"].isna().any() else set()


def _step_of(metrics: pd.DataFrame | None) -> float | None:
    if metrics is None or metrics.empty:
        return None
    ts = pd.DatetimeIndex(metrics["ts"]).unique().sort_values()
    if len(ts) < 2:
        return None
    return float(pd.Series(ts[1:] - ts[:-1]).dt.total_seconds().median())


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.3g}" if abs(value) < 1e6 else f"{value:.3e}"
