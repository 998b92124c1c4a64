"""Detectors: pure functions of a pandas Series returning typed findings. No I/O.

    change_points(series, **kw) -> list[ChangePoint]   regime changes (lines by default,
                                                        levels for the Kafka kinds; PELT)
    anomalies(series, **kw)     -> list[Anomaly]       short spans off the recent behaviour
    bursts(counts, **kw)        -> list[Burst]         event-count bursts over a baseline rate

Every keyword has a default that works without tuning (one fixed configuration, measured by
bench/tcpd.py, bench/detectors.py and bench/scenarios.py). Scores are in [0, 1]; findings
scoring at least REPORT_THRESHOLD are worth showing to a person. Bad input raises
DetectorInputError (a ValueError); gaps, NaN, resets, constant or short series do not.
"""

from __future__ import annotations

from detectors.anomalies import anomalies
from detectors.bursts import bursts
from detectors.changes import change_points
from detectors.prepare import KINDS
from detectors.records import Anomaly, Burst, ChangePoint, DetectorInputError

REPORT_THRESHOLD = 0.5

__all__ = [
    "KINDS",
    "REPORT_THRESHOLD",
    "Anomaly",
    "Burst",
    "ChangePoint",
    "DetectorInputError",
    "anomalies",
    "bursts",
    "change_points",
]
