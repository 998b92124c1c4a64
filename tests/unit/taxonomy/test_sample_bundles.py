"""The recorded scenario bundles in samples/ (real Kafka 4.3.1 stack, real faults) through classify_frame.

Per scenario: every log file has a small share of `unknown` records, and the lines the fault is
known to produce are classified right (with the ground-truth broker where the class names one).
Bundles are found on disk, so each recorded scenario adds its own cases.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from app import taxonomy
from app.pipeline import classify_frame

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
MAX_UNKNOWN_SHARE = 0.02

# What each fault is known to make Kafka print (kafka-log-classes.md), and whether the event's
# broker must be the ground-truth broker.
EXPECTED: dict[str, list[tuple[str, bool]]] = {
    "broker_down": [("broker_fenced", True), ("isr_shrink", False), ("leader_election", False)],
    "broker_hung": [("broker_fenced", True), ("isr_shrink", False)],
    "controller_failover": [("controller_change", False), ("raft_leader_change", False)],
    "rebalance_storm": [
        ("group_rebalance", False),
        ("group_member_left", False),
        ("group_stabilized", False),
    ],
    "gc_pressure": [("gc_pause", False)],
    "slow_follower": [("isr_shrink", False)],
    "under_min_isr": [("under_replicated", False)],
    "log_dir_failure": [("log_dir_failure", False)],
    "consumer_stalled": [("group_member_expired", False), ("group_rebalance", False)],
}


def _bundles() -> list[Path]:
    out = []
    for truth in sorted(SAMPLES.glob("*/ground_truth.json")):
        manifest = json.loads((truth.parent / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("versions", {}).get("kafka") and (truth.parent / "logs.parquet").exists():
            out.append(truth.parent)  # recorded on the real stack (synthetic bundles have no versions)
    return out


BUNDLES = _bundles()


@cache
def _events(bundle: Path):
    logs = pd.read_parquet(bundle / "logs.parquet")
    return logs, classify_frame(logs)


def test_there_are_recorded_bundles() -> None:
    assert BUNDLES, "samples/ holds no bundle recorded on the real stack"


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_unknown_share_per_file(bundle: Path) -> None:
    _logs, events = _events(bundle)
    per_file: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for e in events:
        name = (e.filename or "?").rsplit("/", 1)[-1]
        per_file[name] += 1
        unknown[name] += e.event_class == taxonomy.UNKNOWN
    for name, n in per_file.items():
        assert unknown[name] / n <= MAX_UNKNOWN_SHARE, (
            f"{bundle.name}/{name}: {unknown[name]} of {n} records unknown"
        )


@pytest.mark.parametrize("bundle", [b for b in BUNDLES if b.name in EXPECTED], ids=lambda p: p.name)
def test_fault_lines_are_classified(bundle: Path) -> None:
    truth = json.loads((bundle / "ground_truth.json").read_text(encoding="utf-8"))
    _logs, events = _events(bundle)
    for cls, on_truth_broker in EXPECTED[bundle.name]:
        found = [e for e in events if e.event_class == cls]
        assert found, f"{bundle.name}: no {cls} event"
        if on_truth_broker and truth.get("broker"):
            assert any(e.broker == truth["broker"] for e in found), (
                f"{bundle.name}: {cls} never names broker {truth['broker']}: {[e.broker for e in found]}"
            )
