"""Seeded synthetic incidents for the correlation stage: Findings and LogEvents with known truth.

Each generator draws the culprit broker, the fault time and the symptom delays from a seeded RNG
(delays in ranges Kafka actually shows: scrape failure within one step, fencing after the session
timeout, ISR shrink after replica.lag.time.max.ms), adds background noise (routine log classes at
a steady rate, weak detector findings on random signals), and returns the truth beside the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from app.model import Finding, LogEvent, Window

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=20))
BROKERS = ["1", "2", "3"]
STEP = 5.0


@dataclass
class Case:
    cause: str
    broker: str | None
    injected_at: datetime | None
    findings: list[Finding] = field(default_factory=list)
    events: list[LogEvent] = field(default_factory=list)
    metrics: pd.DataFrame | None = None  # only where a rule reads a held state


class _Builder:
    def __init__(self, seed: int, cause: str, broker: str | None, at: datetime | None):
        self.rng = np.random.default_rng(seed)
        self.case = Case(cause, broker, at)

    def t(self, base: datetime, lo: float, hi: float) -> datetime:
        return base + timedelta(seconds=float(self.rng.uniform(lo, hi)))

    def finding(
        self, signal: str, broker: str | None, at: datetime, before: float, after: float, score: float = 1.0
    ) -> None:
        self.case.findings.append(
            Finding(
                signal=signal,
                broker=broker,
                kind="change_point",
                at=at,
                before=before,
                after=after,
                direction="up" if after > before else "down",
                score=score,
            )
        )

    def event(self, cls: str, at: datetime, source: str | None, broker: str | None = None, **kw) -> None:
        self.case.events.append(
            LogEvent(
                event_class=cls,
                ts=at,
                broker=broker or source,
                source_broker=source,
                severity=kw.pop("severity", "INFO"),
                line=kw.pop("line", f"{cls} line"),
                **kw,
            )
        )

    def noise(self) -> None:
        """Routine background: steady log classes on every broker, weak findings anywhere."""
        for b in BROKERS:
            t = WINDOW.start
            while t < WINDOW.end:
                self.event("other_info", t, b)
                if self.rng.random() < 0.5:
                    self.event("gc_pause", t + timedelta(seconds=1), b)
                t += timedelta(seconds=float(self.rng.uniform(4, 8)))
        for _ in range(3):
            b = str(self.rng.choice(BROKERS))
            at = self.t(WINDOW.start, 0, WINDOW.seconds)
            signal = str(self.rng.choice(["bytes_in_rate", "produce_latency_p99", "request_handler_idle"]))
            self.finding(signal, b, at, 1.0, 1.0 + float(self.rng.uniform(-0.2, 0.2)), score=0.3)

    def isr_shrinks(self, victim: str, base: datetime, lo: float, hi: float, n: int = 4) -> None:
        for k in range(n):
            leader = str(self.rng.choice([b for b in BROKERS if b != victim]))
            self.event(
                "isr_shrink",
                self.t(base, lo, hi),
                leader,
                isr_from=[1, 2, 3],
                isr_to=sorted(int(b) for b in BROKERS if b != victim),
                topic="orders",
                partition=k,
            )

    def others(self, victim: str) -> list[str]:
        return [b for b in BROKERS if b != victim]


def _pick(rng: np.random.Generator) -> tuple[str, datetime]:
    broker = str(rng.choice(BROKERS))
    at = WINDOW.start + timedelta(seconds=float(rng.uniform(300, 700)))
    return broker, at.replace(microsecond=0)


def _stopped(b: _Builder, victim: str, at: datetime, *, refused: bool) -> None:
    """What the rest of the cluster sees when a broker stops answering (died or frozen)."""
    b.finding("broker_up", victim, b.t(at, 1, STEP), 1, 0)
    for o in b.others(victim):
        b.finding("under_replicated_partitions", o, b.t(at, 10, 35), 0, 12)
        b.event("connection_error" if refused else "request_timeout", b.t(at, 1, 20), o, broker=victim)
    controller = b.others(victim)[0]
    b.event("broker_fenced", b.t(at, 9, 14), controller, broker=victim)
    b.isr_shrinks(victim, at, 25, 40)


def broker_down(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "broker_down", victim, at)
    b.noise()
    b.case.events = [e for e in b.case.events if not (e.source_broker == victim and e.ts > at)]
    _stopped(b, victim, at, refused=True)
    back = at + timedelta(seconds=120)
    b.finding("broker_up", victim, back, 0, 1)
    for k in range(5):
        b.event("broker_startup", back + timedelta(seconds=k), victim)
    return b.case


def broker_hung(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "broker_hung", victim, at)
    b.noise()
    b.case.events = [
        e for e in b.case.events if not (e.source_broker == victim and at < e.ts < at + timedelta(seconds=90))
    ]
    _stopped(b, victim, at, refused=False)
    back = at + timedelta(seconds=90)
    b.finding("broker_up", victim, back, 0, 1)
    for k in range(3):
        b.event("isr_update_failed", back + timedelta(seconds=k + 1), victim)
    return b.case


def controller_failover(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "controller_failover", victim, at)
    b.noise()
    b.case.events = [e for e in b.case.events if not (e.source_broker == victim and e.ts > at)]
    _stopped(b, victim, at, refused=True)
    new = b.others(victim)[1]
    moved = b.t(at, 2, 10)
    b.finding("active_controller", new, moved, 0, 1)
    rows = []
    t = WINDOW.start
    while t < WINDOW.end:  # the active_controller series: the victim until it died, then `new`
        for broker in BROKERS:
            if broker == victim and t >= at:
                continue
            value = 1.0 if (broker == victim and t < at) or (broker == new and t >= moved) else 0.0
            rows.append((t, "active_controller", broker, "{}", value, "active_controller"))
        t += timedelta(seconds=STEP)
    b.case.metrics = pd.DataFrame(rows, columns=["ts", "signal", "broker", "labels", "value", "query"])
    b.case.metrics["ts"] = pd.to_datetime(b.case.metrics["ts"], utc=True)
    b.event("controller_change", b.t(at, 1, 6), new)
    for o in b.others(victim):
        b.event("raft_leader_change", b.t(at, 1, 6), o, broker=new)
    return b.case


def gc_pressure(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "gc_pressure", victim, at)
    b.noise()
    b.finding("gc_time_fraction", victim, b.t(at, 0, STEP), 0.01, 0.35)
    b.finding("heap_used_ratio", victim, b.t(at, -20, 5), 0.5, 0.95)
    b.finding("request_handler_idle", victim, b.t(at, 5, 20), 0.9, 0.4)
    for k in range(12):
        b.event("long_gc_pause", at + timedelta(seconds=2 + 6 * k), victim)
    return b.case


def consumer_stalled(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    _, at = _pick(rng)
    b = _Builder(seed, "consumer_stalled", None, at)
    b.noise()
    b.finding("consumer_lag_sum", None, b.t(at, 0, STEP), 10, 5000)
    b.finding("consumer_lag_growth", None, b.t(at, 0, STEP), 0, 80)
    b.event("group_member_expired", b.t(at, 45, 50), str(b.rng.choice(BROKERS)), group="orders-app")
    return b.case


def traffic_surge(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    _, at = _pick(rng)
    b = _Builder(seed, "traffic_surge", None, at)
    b.noise()
    for o in BROKERS:
        b.finding("bytes_in_rate", o, b.t(at, 0, STEP), 1e6, 4e6)
        b.finding("messages_in_rate", o, b.t(at, 0, STEP), 1e3, 4e3)
        b.finding("produce_request_rate", o, b.t(at, 0, 10), 50, 200)
    b.finding("consumer_lag_sum", None, b.t(at, 5, 30), 10, 900)
    return b.case


def rebalance_storm(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    _, at = _pick(rng)
    b = _Builder(seed, "rebalance_storm", None, at)
    b.noise()
    coordinator = str(b.rng.choice(BROKERS))
    for k in range(10):
        b.event("group_rebalance", at + timedelta(seconds=1 + 12 * k), coordinator, group="orders-app")
        b.event("group_stabilized", at + timedelta(seconds=6 + 12 * k), coordinator, group="orders-app")
        b.event("group_member_left", at + timedelta(seconds=12 * k), coordinator, group="orders-app")
    return b.case


def slow_follower(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "slow_follower", victim, at)
    b.noise()
    b.isr_shrinks(victim, at, 0, 8)
    for o in b.others(victim):
        b.finding("under_replicated_partitions", o, b.t(at, 0, STEP), 0, 6)
        b.finding("isr_shrink_rate", o, b.t(at, 0, STEP), 0, 0.2)
    return b.case


def under_min_isr(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    _, at = _pick(rng)
    leader = str(rng.choice(BROKERS))
    b = _Builder(seed, "under_min_isr", leader, at)
    b.noise()
    b.finding("under_min_isr_partitions", leader, b.t(at, 0, STEP), 0, 4)
    for k in range(6):
        b.event("under_replicated", at + timedelta(seconds=2 + 3 * k), leader, severity="ERROR")
    for slow in b.others(leader):  # both followers fell out of the leader's ISR
        b.event(
            "isr_shrink",
            b.t(at, -5, 0),
            leader,
            isr_from=[1, 2, 3],
            isr_to=[int(leader), int(b.others(leader)[1])] if slow == b.others(leader)[0] else [int(leader)],
            topic="orders",
            partition=int(slow),
        )
    return b.case


def log_dir_failure(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "log_dir_failure", victim, at)
    b.noise()
    for k in range(4):
        b.event(
            "log_dir_failure", at + timedelta(seconds=1 + k), victim, severity="ERROR", log_dir="/data/d1"
        )
    b.finding("offline_partitions", b.others(victim)[0], b.t(at, 2, 8), 0, 3)
    if seed % 2:  # its only log dir failed, so the broker halts: it then looks like a dead broker too
        _stopped(b, victim, at + timedelta(seconds=5), refused=True)
    else:
        b.isr_shrinks(victim, at, 5, 30)
    return b.case


def network_partition(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    victim, at = _pick(rng)
    b = _Builder(seed, "network_partition", victim, at)
    b.noise()
    for o in b.others(victim):  # reconnects keep failing both ways
        for k in range(4):
            b.event("connection_error", b.t(at, 1 + 3 * k, 3 + 3 * k), o, broker=victim)
            b.event("replica_fetcher_error", b.t(at, 1 + 3 * k, 3 + 3 * k), victim, peer=o)
    b.event("broker_heartbeat_failure", b.t(at, 3, 10), victim)
    b.event("broker_fenced", b.t(at, 9, 14), b.others(victim)[0], broker=victim)
    b.isr_shrinks(victim, at, 20, 40)
    return b.case


def quiet(seed: int) -> Case:
    b = _Builder(seed, "none", None, None)
    b.noise()
    return b.case


SCENARIOS = {
    f.__name__: f
    for f in (
        broker_down,
        broker_hung,
        controller_failover,
        gc_pressure,
        consumer_stalled,
        traffic_surge,
        rebalance_storm,
        slow_follower,
        under_min_isr,
        log_dir_failure,
        network_partition,
    )
}


def combine(*cases: Case) -> Case:
    """Two faults at once: the union of their inputs (background noise included twice is fine)."""
    out = Case("+".join(c.cause for c in cases), None, None)
    frames = [c.metrics for c in cases if c.metrics is not None]
    out.metrics = pd.concat(frames, ignore_index=True) if frames else None
    for c in cases:
        out.findings += c.findings
        out.events += c.events
    return out


def others_of(broker: str) -> list[str]:
    return [b for b in BROKERS if b != broker]
