"""A steady producer/consumer workload so lag, ISR and throughput signals have a baseline.

Each role runs as its own background process (its own session, so a test's Ctrl-C does not take
it down), with a pid file and a log under ``<run dir>/load/``:

    producer              acks=all, a steady rate spread over the load topics
    consumer-<group>      one consumer process per group
    churn-<group>-<n>     (rebalance_storm only) consumers that join and leave a group in a loop

The producer re-reads ``control.json`` every second, so a fault can change the rate (traffic_surge)
without restarting it. Faults stop a consumer with SIGSTOP/SIGCONT (consumer_stalled).

Command line (used by the spawned processes, handy by hand too):

    python -m stack.load start --bootstrap 127.0.0.1:19092 --run-dir .stack/run
    python -m stack.load status --run-dir .stack/run
    python -m stack.load stop --run-dir .stack/run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("stack.load")

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    share: float  # fraction of the producer's rate that goes to this topic


@dataclass(frozen=True)
class LoadConfig:
    """What the workload produces and who consumes it; defaults are the recorded samples' load."""

    topics: tuple[TopicSpec, ...] = (TopicSpec("orders", 6, 0.65), TopicSpec("payments", 3, 0.35))
    groups: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"orders-processor": ("orders",), "payments-processor": ("payments",)}
    )
    rate: float = 60.0  # messages per second over all topics
    message_bytes: int = 700
    session_timeout_ms: int = 15000


DEFAULT = LoadConfig()


class LoadError(RuntimeError):
    """The workload could not be set up or controlled."""


# --------------------------------------------------------------------------- topics


def ensure_topics(bootstrap: str, config: LoadConfig = DEFAULT, timeout_s: float = 60.0) -> list[str]:
    """Create the load topics (RF 3, min.insync.replicas 2) if missing; return those created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=15000, client_id="kil-load-admin"
            )
        except KafkaError as exc:  # brokers still starting
            last = exc
            time.sleep(2)
            continue
        try:
            existing = set(admin.list_topics())
            wanted = [
                NewTopic(
                    t.name,
                    t.partitions,
                    REPLICATION_FACTOR,
                    topic_configs={"min.insync.replicas": str(MIN_INSYNC_REPLICAS)},
                )
                for t in config.topics
                if t.name not in existing
            ]
            if wanted:
                try:
                    admin.create_topics(wanted, timeout_ms=30000)
                except TopicAlreadyExistsError:
                    pass
            return [t.name for t in wanted]
        except KafkaError as exc:
            last = exc
            time.sleep(2)
        finally:
            admin.close()
    raise LoadError(
        f"could not create load topics on {bootstrap} within {timeout_s:.0f}s: {last}; "
        "is the stack up (`python -m stack status`)?"
    )


# --------------------------------------------------------------------------- process control


def load_dir(run_dir: str | Path) -> Path:
    path = Path(run_dir) / "load"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def read_pid(run_dir: str | Path, role: str) -> int | None:
    file = load_dir(run_dir) / f"{role}.pid"
    if not file.is_file():
        return None
    try:
        pid = int(file.read_text().strip())
    except ValueError:
        return None
    return pid if _pid_alive(pid) else None


def spawn(run_dir: str | Path, role: str, args: list[str]) -> int:
    """Start `python -m stack.load <args>` detached, logging to <role>.log; return its pid."""
    d = load_dir(run_dir)
    existing = read_pid(run_dir, role)
    if existing:
        return existing
    out = open(d / f"{role}.log", "ab")
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "stack.load", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=repo,
        env=env,
    )
    out.close()
    (d / f"{role}.pid").write_text(str(proc.pid))
    return proc.pid


def terminate(run_dir: str | Path, role: str, timeout_s: float = 10.0) -> bool:
    """SIGTERM one role (SIGCONT first in case a fault left it stopped), SIGKILL after timeout."""
    pid = read_pid(run_dir, role)
    (load_dir(run_dir) / f"{role}.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            _reap(pid)
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def roles(run_dir: str | Path) -> dict[str, int | None]:
    return {f.stem: read_pid(run_dir, f.stem) for f in sorted(load_dir(run_dir).glob("*.pid"))}


def write_control(run_dir: str | Path, **values: float) -> None:
    file = load_dir(run_dir) / "control.json"
    data = json.loads(file.read_text()) if file.is_file() else {}
    data.update(values)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(file)  # atomic, so the producer never reads half a file


def read_control(run_dir: str | Path) -> dict[str, float]:
    file = load_dir(run_dir) / "control.json"
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        return {}


def consumer_role(group: str) -> str:
    return f"consumer-{group}"


def start(bootstrap: str, run_dir: str | Path, config: LoadConfig = DEFAULT) -> dict[str, int]:
    """Create the topics, then start the producer and one consumer per group (idempotent)."""
    ensure_topics(bootstrap, config)
    write_control(run_dir, rate_multiplier=1.0)
    pids = {
        "producer": spawn(
            run_dir,
            "producer",
            [
                "produce",
                "--bootstrap",
                bootstrap,
                "--run-dir",
                str(run_dir),
                "--rate",
                str(config.rate),
                "--message-bytes",
                str(config.message_bytes),
            ],
        )
    }
    for group, topics in config.groups.items():
        role = consumer_role(group)
        pids[role] = spawn(
            run_dir,
            role,
            [
                "consume",
                "--bootstrap",
                bootstrap,
                "--group",
                group,
                "--session-timeout-ms",
                str(config.session_timeout_ms),
                *topics,
            ],
        )
    return pids


def stop(run_dir: str | Path) -> list[str]:
    stopped = [role for role in list(roles(run_dir)) if terminate(run_dir, role)]
    write_control(run_dir, rate_multiplier=1.0)
    return stopped


# --------------------------------------------------------------------------- the workers


class _Stop:
    """Turns SIGTERM/SIGINT into a flag the worker loops check."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_: object) -> None:
        self.requested = True


def run_producer(
    bootstrap: str, run_dir: str, rate: float, message_bytes: int, config: LoadConfig = DEFAULT
) -> None:
    from kafka import KafkaProducer

    stop_flag = _Stop()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        retries=5,
        request_timeout_ms=10000,
        max_block_ms=5000,
        client_id="kil-load-producer",
    )
    weights = [t.share for t in config.topics]
    names = [t.name for t in config.topics]
    counts = {"sent": 0, "acked": 0, "failed": 0}
    payload_pad = "x" * max(0, message_bytes - 80)

    def ok(_):
        counts["acked"] += 1

    def failed(_):
        counts["failed"] += 1

    multiplier, next_control, next_report = 1.0, 0.0, time.monotonic() + 10
    tick = 0.05
    credit = 0.0
    seq = 0
    while not stop_flag.requested:
        started = time.monotonic()
        if started >= next_control:
            multiplier = float(read_control(run_dir).get("rate_multiplier", 1.0))
            next_control = started + 1.0
        credit += rate * multiplier * tick
        while credit >= 1 and not stop_flag.requested:
            credit -= 1
            seq += 1
            topic = random.choices(names, weights)[0]
            key = f"k{random.randrange(10_000)}".encode()
            value = json.dumps({"seq": seq, "ts": time.time(), "pad": payload_pad}).encode()
            try:
                producer.send(topic, key=key, value=value).add_callback(ok).add_errback(failed)
                counts["sent"] += 1
            except Exception as exc:  # metadata unavailable while a broker is down: count and go on
                counts["failed"] += 1
                log.debug("send failed: %s", exc)
        if started >= next_report:
            log.info(
                "producer x%.1f sent=%d acked=%d failed=%d",
                multiplier,
                counts["sent"],
                counts["acked"],
                counts["failed"],
            )
            next_report = started + 10
        time.sleep(max(0.0, tick - (time.monotonic() - started)))
    producer.close(timeout=5)


def run_consumer(
    bootstrap: str,
    group: str,
    topics: list[str],
    session_timeout_ms: int,
    lifetime_s: float | None = None,
    client_id: str | None = None,
    stop_flag: _Stop | None = None,
) -> None:
    from kafka import KafkaConsumer

    stop_flag = stop_flag or _Stop()
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=client_id or f"kil-{group}",
        auto_offset_reset="latest",
        enable_auto_commit=True,
        auto_commit_interval_ms=1000,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=3000,
        request_timeout_ms=30000,
    )
    ends = time.monotonic() + lifetime_s if lifetime_s else None
    consumed, next_report = 0, time.monotonic() + 10
    while not stop_flag.requested and (ends is None or time.monotonic() < ends):
        batches = consumer.poll(timeout_ms=500, max_records=500)
        consumed += sum(len(records) for records in batches.values())
        if time.monotonic() >= next_report:
            log.info("consumer %s consumed=%d", group, consumed)
            next_report = time.monotonic() + 10
    consumer.close(autocommit=True)


def run_churn(bootstrap: str, group: str, topics: list[str], period_s: float) -> None:
    """Join and leave `group` over and over: each join and each leave forces a group rebalance."""
    stop_flag = _Stop()
    n = 0
    while not stop_flag.requested:
        n += 1
        try:
            run_consumer(
                bootstrap,
                group,
                topics,
                session_timeout_ms=10000,
                lifetime_s=period_s,
                client_id=f"kil-churn-{os.getpid()}-{n}",
                stop_flag=stop_flag,
            )
        except Exception as exc:  # a failed join is part of the storm; keep churning
            log.info("churn member %d failed: %s", n, exc)
        time.sleep(random.uniform(0.5, 2.0))


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m stack.load", description="Kafka load, local stack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="create topics, start producer and consumers in the background")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--rate", type=float, default=DEFAULT.rate)
    for name in ("stop", "status"):
        sub.add_parser(name).add_argument("--run-dir", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--rate", type=float, default=DEFAULT.rate)
    p.add_argument("--message-bytes", type=int, default=DEFAULT.message_bytes)
    for name in ("consume", "churn"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True)
        p.add_argument("--group", required=True)
        p.add_argument("--session-timeout-ms", type=int, default=DEFAULT.session_timeout_ms)
        p.add_argument("--period-s", type=float, default=6.0)
        p.add_argument("topics", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "start":
            pids = start(args.bootstrap, args.run_dir, LoadConfig(rate=args.rate))
            print("\n".join(f"{role}: pid {pid}" for role, pid in pids.items()))
        elif args.cmd == "stop":
            print("stopped: " + (", ".join(stop(args.run_dir)) or "nothing was running"))
        elif args.cmd == "status":
            for role, pid in roles(args.run_dir).items():
                print(f"{role}: {'running pid ' + str(pid) if pid else 'not running'}")
        elif args.cmd == "produce":
            run_producer(args.bootstrap, args.run_dir, args.rate, args.message_bytes)
        elif args.cmd == "consume":
            run_consumer(args.bootstrap, args.group, args.topics, args.session_timeout_ms)
        elif args.cmd == "churn":
            run_churn(args.bootstrap, args.group, args.topics, args.period_s)
    except LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
