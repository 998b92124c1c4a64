"""Raw rule scores → confidence.

Scores are sums of symptom weights, read as log-odds. Confidence is a softmax over every candidate
plus a "nothing in particular" null candidate with a fixed score, at a temperature; both numbers live
in the pack's `scoring:` block. They were set on the seeded synthetic incidents in
tests/unit/correlate/synthetic.py (known truth), and `calibration_table` prints how often the top
hypothesis was right per confidence band, so the calibration can be checked, not just claimed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def is_quiet(candidates: Sequence[Candidate], confidence: Sequence[float], scoring: Scoring) -> bool:
    """No candidate is both strong in absolute terms and clearly above the null."""
    return not candidates or candidates[0].score < scoring.min_score or confidence[0] < scoring.min_confidence


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
