"""Raw rule scores → confidence, and the order hypotheses are shown in.

Scores are sums of symptom weights, read as log-odds. Candidates compete when they explain the same
anchor observations, blame the same broker (a stopped broker is either dead, hung or halted by its
disk), or when one is a degradation that a hard failure causes on its own (rules marked
`may_be_consequence`: lag, rebalances, load shifts, GC on the brokers that took over) and it began
inside that failure's disturbance, on a broker the failure affected. Candidates built on disjoint
observations are separate faults and do not compete. Confidence is a softmax within each group
plus a "nothing in particular" null candidate with a fixed score, at a temperature. Each group's
leader is listed first (strongest group first), alternatives after. Both numbers live
in the pack's `scoring:` block. They were set on the seeded synthetic incidents in
tests/unit/correlate/synthetic.py (known truth), and `calibration_table` prints how often the top
hypothesis was right per confidence band, so the calibration can be checked, not just claimed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from app.correlate.match import Candidate
from app.correlate.rules import Scoring


def confidences(candidates: Sequence[Candidate], scoring: Scoring) -> list[float]:
    """Softmax of scores against the null candidate; same order as `candidates`."""
    if not candidates:
        return []
    t = max(scoring.temperature, 1e-6)
    top = max(max(c.score for c in candidates), scoring.null_score)
    weights = [math.exp((c.score - top) / t) for c in candidates]
    total = sum(weights) + math.exp((scoring.null_score - top) / t)
    return [round(w / total, 3) for w in weights]


def leaders(candidates: Sequence[Candidate], scoring: Scoring) -> list[Candidate]:
    """The strong leader of each group: one per separate fault, strongest first."""
    heads = {members[0] for members in _groups(candidates)}
    return [
        c for c, p in rank(candidates, scoring) if candidates.index(c) in heads and _strong(c, p, scoring)
    ]


def rank(candidates: Sequence[Candidate], scoring: Scoring) -> list[tuple[Candidate, float]]:
    """(candidate, confidence), group leaders first; `candidates` must be sorted best first."""
    groups = _groups(candidates)
    conf: dict[int, float] = {}
    for members in groups:
        for i, p in zip(members, confidences([candidates[i] for i in members], scoring), strict=True):
            conf[i] = p
    leaders = [members[0] for members in groups if _strong(candidates[members[0]], conf[members[0]], scoring)]
    rest = sorted(set(range(len(candidates))) - set(leaders))
    return [(candidates[i], conf[i]) for i in [*leaders, *rest]]


def _groups(candidates: Sequence[Candidate]) -> list[list[int]]:
    """Indices of competing candidates, each group in score order (see the module docstring).

    Same culprit: one group. Shared anchor observations: one group, except that two culprits'
    groups merge only through their leaders (the best explanation for each broker), so a weak
    alternative seen from both sides cannot fuse two separate failures.
    """
    parent = list(range(len(candidates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    leader: dict[str, int] = {}
    for i, c in enumerate(candidates):
        if c.broker is not None:
            parent[find(i)] = find(leader.setdefault(c.broker, i))
    owner: dict[tuple, int] = {}
    for i, c in enumerate(candidates):
        if c.broker is not None and leader[c.broker] != i:
            continue  # an alternative for its broker already competes with that broker's leader
        for m in c.matches:
            if m.symptom.anchor and not m.symptom.contradicts:
                for o in m.observations:
                    parent[find(i)] = find(owner.setdefault(o.sort_key(), i))
    for i, j in consequences(candidates):
        parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda members: members[0])


def consequences(candidates: Sequence[Candidate], grace_s: float = 120.0) -> list[tuple[int, int]]:
    """(failure, consequence) index pairs: degradations that a hard failure explains.

    A consequence starts after the failure began (10 s of scrape jitter allowed) and before its
    disturbance ended plus `grace_s`, on a broker the failure touched (or cluster-wide).
    """
    pairs = []
    # Each consequence joins its strongest failure only, and only a broker's leading explanation
    # can be a consequence (the others already compete with it), so two failures never merge.
    first: dict[str, int] = {}
    for k, c in enumerate(candidates):
        if c.broker is not None:
            first.setdefault(c.broker, k)
    explained = {k for k, c in enumerate(candidates) if c.broker is not None and first[c.broker] != k}
    for i, cause in enumerate(candidates):
        if cause.rule.may_be_consequence:
            continue
        affected = {o.broker for o in cause.observations if o.broker is not None}
        begin = cause.onset - timedelta(seconds=10)
        end = cause.until + timedelta(seconds=grace_s)
        for j, effect in enumerate(candidates):
            if j == i or j in explained or not effect.rule.may_be_consequence:
                continue
            if begin <= effect.onset <= end and (effect.broker is None or effect.broker in affected):
                pairs.append((i, j))
                explained.add(j)
    return pairs


def _strong(candidate: Candidate, confidence: float, scoring: Scoring) -> bool:
    return candidate.score >= scoring.min_score and confidence >= scoring.min_confidence


def is_quiet(ranked: Sequence[tuple[Candidate, float]], scoring: Scoring) -> bool:
    """No candidate is both strong in absolute terms and clearly above the null."""
    return not ranked or not _strong(ranked[0][0], ranked[0][1], scoring)


def calibration_table(
    outcomes: Sequence[tuple[float, bool]], bands: Sequence[float] = (0.0, 0.4, 0.6, 0.8, 1.01)
) -> list[tuple[str, int, float, float]]:
    """(band, n, mean confidence, share right) per confidence band, and the Brier score as the last row."""
    rows = []
    for lo, hi in zip(bands[:-1], bands[1:], strict=True):
        inside = [(c, ok) for c, ok in outcomes if lo <= c < hi]
        if inside:
            rows.append(
                (
                    f"{lo:.1f}-{min(hi, 1.0):.1f}",
                    len(inside),
                    sum(c for c, _ in inside) / len(inside),
                    sum(ok for _, ok in inside) / len(inside),
                )
            )
    if outcomes:
        brier = sum((c - float(ok)) ** 2 for c, ok in outcomes) / len(outcomes)
        rows.append(("brier", len(outcomes), brier, float("nan")))
    return rows
