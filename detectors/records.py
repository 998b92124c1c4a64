"""Typed results of the detectors, and the one input error they raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["up", "down"]


class DetectorInputError(ValueError, TypeError):
    """The input is not something a detector can read (wrong type, non-numeric values...).

    It is both a ValueError and a TypeError so callers catching either see it. Gaps, NaN,
    constant or very short series are *not* errors: detectors return an empty list for them.
    """


@dataclass(frozen=True)
class ChangePoint:
    """The series entered a new regime at `at` (index label of the first new-regime point).

    `before` / `after` are the means of the detected measure on the neighbouring segments
    (`measure` says which: the value itself, a per-second rate of a counter, or a slope).
    `score` in [0, 1] is how sure we are: 1 - penalty / gain, damped for changes that are
    tiny relative to the signal's own level; `detectors.REPORT_THRESHOLD` separates what
    is worth showing.
    """

    at: Any
    before: float
    after: float
    direction: Direction
    magnitude: float
    score: float
    position: int = 0
    measure: str = "level"


@dataclass(frozen=True)
class Anomaly:
    """A point or short span that does not fit the series' own recent behaviour."""

    at: Any
    end: Any
    value: float
    expected: float
    direction: Direction
    score: float


@dataclass(frozen=True)
class Burst:
    """A run of intervals whose event counts are far above the baseline rate."""

    start: Any
    end: Any
    count: int
    baseline: float
    peak: int
    score: float
