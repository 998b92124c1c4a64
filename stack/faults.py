"""Fault injection against the running local stack, with recovery.

Each fault is a small object with ``inject(ctx) -> broker`` and ``recover(ctx)``. The injector
records the UTC instant right after the fault took effect (the ground truth `injected_at`) and the
instant recovery finished (`recovered_at`). Cause ids are the project's fixed vocabulary
(`CAUSES`); scenario names may differ from causes (``quiet`` has cause ``none``).

How each fault is made (all real, nothing simulated):

    broker_down          SIGKILL the broker JVM; recovery restarts the node through the stack API
    broker_hung          SIGSTOP the broker JVM; recovery SIGCONT
    controller_failover  SIGKILL the active KRaft controller (found from the quorum); restart it
    consumer_stalled     SIGSTOP the consumer process of one group while producers go on; SIGCONT
    traffic_surge        the load producer's rate x10 (control file); back to x1
    gc_pressure          attach once to the broker JVM and request a collection (the jcmd GC.run
                         diagnostic command) every 100 ms; the broker's G1 does the real work
    rebalance_storm      consumers that join and leave a group every few seconds
    slow_follower        the broker stopped 13 s of every 17 s (SIGSTOP/SIGCONT duty cycle), so its
                         replicas keep dropping out of ISR and rejoining; recovery ends the cycle
    log_dir_failure      the broker's log dir made immutable (chattr +i), so its next checkpoint
                         write fails and the broker takes the dir offline; recovery lifts the
                         flag and restarts the node
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from stack import load

CAUSES = (
    "broker_down",
    "broker_hung",
    "controller_failover",
    "gc_pressure",
    "consumer_stalled",
    "slow_follower",
    "traffic_surge",
    "rebalance_storm",
    "under_min_isr",
    "log_dir_failure",
    "network_partition",
)


class FaultError(RuntimeError):
    """A fault could not be injected or recovered; the message says what to check."""


class StackOps(Protocol):
    """What faults need from the running stack (stack.record adapts the stack package to this)."""

    bootstrap: str
    run_dir: Path

    def brokers(self) -> list[str]: ...

    def node_pid(self, broker: str) -> int | None: ...

    def start_node(self, broker: str) -> None: ...

    def node_log_dirs(self, broker: str) -> list[Path]: ...


@dataclass
class FaultContext:
    ops: StackOps
    broker: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    state: dict[str, object] = field(default_factory=dict)


def now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- helpers


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise FaultError(f"process {pid} is gone; is the stack still up?") from None


def _pid_of(ctx: FaultContext, broker: str) -> int:
    pid = ctx.ops.node_pid(broker)
    if not pid:
        raise FaultError(f"broker {broker} is not running; start the stack (`python -m stack up`)")
    return pid


def _wait_dead(pid: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not load._pid_alive(pid):
            return
        time.sleep(0.1)
    raise FaultError(f"process {pid} still alive {timeout_s:.0f}s after SIGKILL")


def _admin(ctx: FaultContext):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=ctx.ops.bootstrap, request_timeout_ms=15000, client_id="kil-faults"
    )


def active_controller(bootstrap: str, timeout_s: float = 30.0) -> str:
    """The node id leading the KRaft metadata quorum (the active controller)."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=10000, client_id="kil-faults"
            )
            try:
                quorum = admin.describe_metadata_quorum()
            finally:
                admin.close()
            leader = _find_leader(quorum)
            if leader is not None and leader >= 0:
                return str(leader)
        except KafkaError as exc:
            last = exc
        time.sleep(1)
    raise FaultError(f"could not find the active controller via {bootstrap} ({last})")


def _find_leader(quorum: object) -> int | None:
    """leader_id from a DescribeQuorum answer, wherever this client version nests it."""
    if isinstance(quorum, dict):
        if "leader_id" in quorum:
            return int(quorum["leader_id"])
        for value in quorum.values():
            found = _find_leader(value)
            if found is not None:
                return found
    elif isinstance(quorum, list):
        for value in quorum:
            found = _find_leader(value)
            if found is not None:
                return found
    return None


def avoid_controller(ctx: FaultContext) -> str:
    """Retarget `ctx.broker` off the active controller (unless params say avoid_controller: false).

    Every node is also a KRaft controller here, so hitting the quorum leader would add a
    controller failover to the fault; controller_failover is its own scenario.
    """
    if not ctx.params.get("avoid_controller", True):
        return ctx.broker
    controller = active_controller(ctx.ops.bootstrap)
    if ctx.broker == controller:
        ctx.broker = next(b for b in ctx.ops.brokers() if b != controller)
    return ctx.broker


# --------------------------------------------------------------------------- the faults


class Fault:
    cause: str = ""
    needs_broker: bool = True

    def inject(self, ctx: FaultContext) -> str | None:
        raise NotImplementedError

    def recover(self, ctx: FaultContext) -> None:
        raise NotImplementedError


class BrokerDown(Fault):
    cause = "broker_down"

    def inject(self, ctx):
        avoid_controller(ctx)
        pid = _pid_of(ctx, ctx.broker)
        _signal(pid, signal.SIGKILL)
        _wait_dead(pid)
        return ctx.broker

    def recover(self, ctx):
        ctx.ops.start_node(ctx.broker)


class BrokerHung(Fault):
    cause = "broker_hung"

    def inject(self, ctx):
        avoid_controller(ctx)
        pid = _pid_of(ctx, ctx.broker)
        _signal(pid, signal.SIGSTOP)
        ctx.state["pid"] = pid
        return ctx.broker

    def recover(self, ctx):
        _signal(int(ctx.state["pid"]), signal.SIGCONT)


class ControllerFailover(Fault):
    """Kill the active controller; the given broker is ignored (the leader decides the target)."""

    cause = "controller_failover"
    needs_broker = False

    def inject(self, ctx):
        ctx.broker = active_controller(ctx.ops.bootstrap)
        pid = _pid_of(ctx, ctx.broker)
        _signal(pid, signal.SIGKILL)
        _wait_dead(pid)
        return ctx.broker

    def recover(self, ctx):
        ctx.ops.start_node(ctx.broker)


class ConsumerStalled(Fault):
    cause = "consumer_stalled"
    needs_broker = False

    def inject(self, ctx):
        group = str(ctx.params.get("group", "orders-processor"))
        pid = load.read_pid(ctx.ops.run_dir, load.consumer_role(group))
        if not pid:
            raise FaultError(f"no running consumer for group {group}; start the load first")
        _signal(pid, signal.SIGSTOP)
        ctx.state["pid"] = pid
        return None

    def recover(self, ctx):
        _signal(int(ctx.state["pid"]), signal.SIGCONT)


class TrafficSurge(Fault):
    cause = "traffic_surge"
    needs_broker = False

    def inject(self, ctx):
        load.write_control(ctx.ops.run_dir, rate_multiplier=float(ctx.params.get("multiplier", 10.0)))
        time.sleep(1.2)  # the producer reads the control file once a second
        return None

    def recover(self, ctx):
        load.write_control(ctx.ops.run_dir, rate_multiplier=1.0)
        time.sleep(1.2)


GC_TOOL = Path(__file__).resolve().parent / "scenarios" / "GcPressure.java"


class GcPressure(Fault):
    cause = "gc_pressure"

    def inject(self, ctx):
        avoid_controller(ctx)
        pid = _pid_of(ctx, ctx.broker)
        interval_ms = int(ctx.params.get("interval_ms", 100))
        log_path = load.load_dir(ctx.ops.run_dir) / "gc-pressure.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        log_file = open(log_path, "ab")
        proc = subprocess.Popen(
            [
                "java",
                "-Xmx32m",
                "-XX:TieredStopAtLevel=1",
                "--add-exports",
                "jdk.attach/sun.tools.attach=ALL-UNNAMED",
                str(GC_TOOL),
                str(pid),
                str(interval_ms),
                "3600",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log_file.close()
        ctx.state["proc"] = proc
        # the single-file launch compiles first; the fault starts with the first collection
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(log_path, "rb") as fh:
                fh.seek(offset)
                if b"first GC.run done" in fh.read():
                    ctx.state["injected_at"] = now()
                    break
            if proc.poll() is not None:
                raise FaultError(f"GC pressure tool exited early (code {proc.returncode}); see {log_path}")
            time.sleep(0.1)
        else:
            self.recover(ctx)
            raise FaultError(f"GC pressure tool did not attach to pid {pid} within 60s; see {log_path}")
        return ctx.broker

    def recover(self, ctx):
        proc: subprocess.Popen = ctx.state["proc"]  # type: ignore[assignment]
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class RebalanceStorm(Fault):
    cause = "rebalance_storm"
    needs_broker = False

    def inject(self, ctx):
        group = str(ctx.params.get("group", "orders-processor"))
        topics = list(load.DEFAULT.groups.get(group, ("orders",)))
        members = int(ctx.params.get("members", 3))
        roles = []
        for n in range(members):
            role = f"churn-{group}-{n}"
            load.spawn(
                ctx.ops.run_dir,
                role,
                [
                    "churn",
                    "--bootstrap",
                    ctx.ops.bootstrap,
                    "--group",
                    group,
                    "--period-s",
                    str(4 + 2 * n),
                    *topics,
                ],
            )
            roles.append(role)
        ctx.state["roles"] = roles
        return None

    def recover(self, ctx):
        for role in ctx.state.get("roles", []):
            load.terminate(ctx.ops.run_dir, role)


class SlowFollower(Fault):
    """A replica host that keeps falling behind: the broker runs `run_s` out of every
    `run_s + stop_s` seconds (SIGSTOP/SIGCONT duty cycle).

    Each stop outlasts replica.lag.time.max.ms (10 s in the stack), so the leaders drop its
    replicas from ISR, and each run lets them catch up and rejoin: ISR shrink/expand flapping
    and under-replicated partitions on the other brokers, while the broker stays registered
    (stops are shorter than broker.session.timeout.ms, 18 s). A replication throttle cannot do
    this: Kafka throttles only replicas already out of ISR. The active controller is never
    chosen, so the quorum does not fail over every cycle.
    """

    cause = "slow_follower"

    def inject(self, ctx):
        avoid_controller(ctx)
        pid = _pid_of(ctx, ctx.broker)
        stop_s = float(ctx.params.get("stop_s", 13.0))
        run_s = float(ctx.params.get("run_s", 4.0))
        done = threading.Event()

        def cycle() -> None:
            while not done.is_set():
                os.kill(pid, signal.SIGSTOP)
                done.wait(stop_s)
                os.kill(pid, signal.SIGCONT)
                done.wait(run_s)

        thread = threading.Thread(target=cycle, name="slow-follower", daemon=True)
        ctx.state.update(pid=pid, done=done, thread=thread)
        thread.start()
        return ctx.broker

    def recover(self, ctx):
        ctx.state["done"].set()
        ctx.state["thread"].join(timeout=30)
        _signal(int(ctx.state["pid"]), signal.SIGCONT)


class LogDirFailure(Fault):
    """Make the broker's log dir immutable (chattr +i): root too gets EPERM creating files there.

    The broker writes its offset checkpoints (tmp file + rename) into the log dir every few
    seconds, so the failure surfaces within seconds as a KafkaStorageException and the dir is
    marked offline; with a single log dir holding the metadata log the broker then halts, as a
    real broker does when its only disk goes bad. Recovery lifts the flag and restarts the node.
    """

    cause = "log_dir_failure"

    def inject(self, ctx):
        avoid_controller(ctx)
        dirs = ctx.ops.node_log_dirs(ctx.broker)
        if not dirs:
            raise FaultError(f"broker {ctx.broker} has no known log dirs")
        target = str(dirs[-1])
        subprocess.run(["chattr", "+i", target], check=True, timeout=30, capture_output=True)
        ctx.state["dir"] = target
        return ctx.broker

    def recover(self, ctx):
        target = ctx.state.get("dir")
        if target:
            subprocess.run(["chattr", "-i", str(target)], check=False, timeout=30, capture_output=True)
        pid = ctx.ops.node_pid(ctx.broker)
        if pid:  # still half-alive (e.g. serving other dirs): restart so the dir comes back online
            _signal(pid, signal.SIGKILL)
            _wait_dead(pid)
        ctx.ops.start_node(ctx.broker)


FAULTS: dict[str, Callable[[], Fault]] = {
    f.cause: f
    for f in (
        BrokerDown,
        BrokerHung,
        ControllerFailover,
        ConsumerStalled,
        TrafficSurge,
        GcPressure,
        RebalanceStorm,
        SlowFollower,
        LogDirFailure,
    )
}


def make(cause: str) -> Fault:
    if cause not in FAULTS:
        known = ", ".join(sorted(FAULTS))
        raise FaultError(f"unknown fault {cause!r}; choose one of: {known}")
    return FAULTS[cause]()
