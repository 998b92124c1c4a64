"""Match rules against observations: one candidate per (cause, culprit broker).

For a candidate culprit the rule's anchor symptoms fix the onset (each anchor's earliest strong
observation is tried as the onset and the best-scoring one kept, so one early outlier cannot drag the
onset away). Every symptom is then looked for within its time window around the onset, on the
brokers it names relative to the culprit. The score is a sum of weights (think log-likelihood
ratios): a symptom seen adds its weight times the observation's own score, a contradicting one seen
subtracts it; the rule's prior and a bonus when the culprit is the first broker to change are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.correlate.observe import Levels, Observation
from app.correlate.rules import Pack, Rule, Symptom


@dataclass(frozen=True)
class Match:
    symptom: Symptom
    observations: tuple[Observation, ...]
    contribution: float


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    broker: str | None  # the culprit (None for a cluster-wide cause)
    onset: datetime
    score: float
    matches: tuple[Match, ...]
    brokers: tuple[str, ...]  # culprit first, or where a cluster-wide cause showed, earliest first
    first_mover: bool = False

    @property
    def until(self) -> datetime:
        """When the supporting evidence ends: the last matched observation (or its end)."""
        return max(
            (o.end or o.at for m in self.matches if not m.symptom.contradicts for o in m.observations),
            default=self.onset,
        )

    @property
    def observations(self) -> list[Observation]:
        seen: dict[tuple, Observation] = {}
        for m in self.matches:
            for o in m.observations:
                seen[o.sort_key()] = o
        return [seen[k] for k in sorted(seen)]


def eligible(pack: Pack, symptom: Symptom, obs: Observation, culprit: str | None) -> bool:
    """Does `obs` show `symptom` for this culprit (ignoring time)?"""
    return _shows(pack, symptom, obs) and _placed(symptom, obs, culprit)


def _placed(symptom: Symptom, obs: Observation, culprit: str | None) -> bool:
    """The part of `eligible` that depends on the culprit: where it was seen, whom it is about."""
    return _where(symptom.where, obs.broker, culprit) and _where(symptom.subject, obs.subject, culprit)


def _shows(pack: Pack, symptom: Symptom, obs: Observation) -> bool:
    """The part of `eligible` that does not depend on the culprit (checked once per rule)."""
    if symptom.held_min is not None:
        return False  # a held state is read from the series (see _held), not from a change
    if symptom.metric:
        if obs.kind != "metric" or not (pack.roles_of(obs.name) & set(symptom.metric)):
            return False
    elif symptom.log:
        if obs.kind != "log" or obs.name not in symptom.log or obs.count < symptom.min_count:
            return False
    elif symptom.gap:
        if obs.kind != "gap" or obs.name not in symptom.gap:
            return False
    if symptom.direction != "any" and obs.direction != symptom.direction:
        return False
    if symptom.min_ratio is not None:
        ratio = obs.ratio()
        if ratio is None or ratio < symptom.min_ratio:
            return False
    return True


def _where(relation: str, broker: str | None, culprit: str | None) -> bool:
    if relation == "any":
        return True
    if relation == "not_culprit":
        return broker is None or broker != culprit
    if relation == "self":
        return broker is None or broker == culprit
    if culprit is None:  # a cluster-wide cause has no culprit to be relative to
        return relation == "others" or broker is None
    if relation == "culprit":
        return broker == culprit
    return broker is not None and broker != culprit


def evaluate(
    pack: Pack,
    rule: Rule,
    observations: list[Observation],
    culprit: str | None,
    levels: Levels | None = None,
    shown: dict[str, list[Observation]] | None = None,
) -> Candidate | None:
    """`shown`: per symptom id, the observations that show it whatever the culprit (see `candidates`)."""
    if shown is None:
        shown = _shown(pack, rule, observations)
    pools = {s.id: [o for o in shown[s.id] if _placed(s, o, culprit)] for s in rule.symptoms}
    onsets = set()
    for s in rule.symptoms:
        if s.anchor and not s.contradicts and pools[s.id]:
            best = max(o.score for o in pools[s.id])
            onsets.add(min(o.at for o in pools[s.id] if o.score >= 0.5 * best))
    best_candidate: Candidate | None = None
    for onset in sorted(onsets):
        candidate = _score_at(pack, rule, pools, culprit, onset, observations, levels)
        if candidate is not None and (best_candidate is None or candidate.score > best_candidate.score):
            best_candidate = candidate
    return best_candidate


def _score_at(
    pack: Pack,
    rule: Rule,
    pools: dict[str, list[Observation]],
    culprit: str | None,
    onset: datetime,
    observations: list[Observation],
    levels: Levels | None = None,
) -> Candidate | None:
    matches = []
    for s in rule.symptoms:
        if s.held_min is not None:
            held = _held(pack, s, culprit, onset, levels)
            if held is not None:
                matches.append(Match(s, (held,), (-1 if s.contradicts else 1) * s.weight))
            continue
        lo, hi = onset + timedelta(seconds=s.within[0]), onset + timedelta(seconds=s.within[1])
        hits = sorted((o for o in pools[s.id] if lo <= o.at <= hi), key=Observation.sort_key)
        if not hits:
            continue
        if len({o.broker for o in hits}) < s.min_brokers or len(hits) < s.min_hits:
            continue
        # The observations nearest the onset carry the symptom; keep a few so evidence shows spread.
        hits.sort(key=lambda o: (abs((o.at - onset).total_seconds()), -o.score, o.sort_key()))
        kept = tuple(sorted(hits[: max(3, s.min_brokers)], key=Observation.sort_key))
        strength = max(o.score for o in kept)
        matches.append(Match(s, kept, (-1 if s.contradicts else 1) * s.weight * strength))
    seen = {m.symptom.id for m in matches if not m.symptom.contradicts}
    if not all(set(group) & seen for group in rule.requires):
        return None
    if not any(m.symptom.anchor and not m.symptom.contradicts for m in matches):
        return None
    score = rule.prior + sum(m.contribution for m in matches)
    # Report the earliest anchored change as the onset: ties in score must not push it later.
    onset = min(
        o.at for m in matches if m.symptom.anchor and not m.symptom.contradicts for o in m.observations
    )
    first = False
    if culprit is not None and _first_mover(culprit, onset, observations):
        first = True
        score += pack.scoring.first_mover_bonus
    if culprit is not None:
        brokers: tuple[str, ...] = (culprit,)
    else:
        earliest: dict[str, datetime] = {}
        for m in matches:
            if m.symptom.contradicts:
                continue
            for o in m.observations:
                if o.broker is not None:
                    earliest[o.broker] = min(earliest.get(o.broker, o.at), o.at)
        brokers = tuple(sorted(earliest, key=lambda b: (earliest[b], b)))
    return Candidate(rule, culprit, onset, score, tuple(matches), brokers, first)


def _held(
    pack: Pack, s: Symptom, culprit: str | None, onset: datetime, levels: Levels | None
) -> Observation | None:
    """The culprit's series of the symptom's role stood at >= held_min just before the onset."""
    if levels is None or culprit is None or s.held_min is None:
        return None
    for signal in levels.signals():
        if not pack.roles_of(signal) & set(s.metric or ()):
            continue
        found = levels.before(signal, culprit, onset)
        if found is not None and found[1] >= s.held_min:
            at, value = found
            return Observation(
                kind="metric",
                name=signal,
                broker=culprit,
                at=at,
                before=value,
                after=value,
                score=1.0,
                detail="held just before the onset",
            )
    return None


def _first_mover(culprit: str, onset: datetime, observations: list[Observation]) -> bool:
    """True when no other broker changed before the culprit's onset (within a 5-minute look-back)."""
    look_back = onset - timedelta(minutes=5)
    for o in observations:
        if o.kind == "log" and o.subject == culprit:
            continue  # other brokers talking about the culprit are its symptoms, not theirs
        if o.broker is not None and o.broker != culprit and look_back <= o.at < onset and o.kind != "gap":
            return False
    return True


def candidates(
    pack: Pack, observations: list[Observation], brokers: list[str], levels: Levels | None = None
) -> list[Candidate]:
    """Every rule evaluated for every broker (or once, cluster-wide), best first, deterministic."""
    out = []
    by_kind: dict[str, list[Observation]] = {}
    by_name: dict[tuple[str, str], list[int]] = {}  # (kind, name) -> positions in `observations`
    for i, o in enumerate(observations):
        by_kind.setdefault(o.kind, []).append(o)
        by_name.setdefault((o.kind, o.name), []).append(i)
    index = (by_kind, by_name)
    for rule in pack.rules:
        culprits: list[str | None] = list(brokers) if rule.scope == "broker" else [None]
        # The culprit-free part of matching once per rule, not once per (rule, culprit): with a
        # day of observations this loop was most of the correlation time.
        shown = _shown(pack, rule, observations, index)
        for culprit in culprits:
            candidate = evaluate(pack, rule, observations, culprit, levels, shown)
            if candidate is not None:
                out.append(candidate)
    out.sort(key=lambda c: (-c.score, c.onset, c.rule.cause, c.broker or ""))
    return out


def _shown(
    pack: Pack,
    rule: Rule,
    observations: list[Observation],
    index: tuple[dict[str, list[Observation]], dict[tuple[str, str], list[int]]] | None = None,
) -> dict[str, list[Observation]]:
    """Per symptom id, the observations (in their order) that show it, before the culprit is known.

    `index` (by kind, and positions by (kind, name)) narrows each symptom to the observations whose
    kind and name it can show; `_shows` still decides.
    """
    out = {}
    for s in rule.symptoms:
        kind = "metric" if s.metric else "log" if s.log else "gap" if s.gap else None
        if kind is None or index is None:
            pool = observations
        elif s.held_min is not None:
            pool = []  # a held state is read from the series (see _held), never shown by a change
        else:
            by_kind, by_name = index
            if kind == "metric":
                roles = set(s.metric)
                names = [n for k, n in by_name if k == "metric" and pack.roles_of(n) & roles]
            else:
                names = [n for n in set(s.log if kind == "log" else s.gap) if (kind, n) in by_name]
            positions = sorted(i for n in names for i in by_name.get((kind, n), ()))
            pool = [observations[i] for i in positions]
        out[s.id] = [o for o in pool if _shows(pack, s, o)]
    return out
