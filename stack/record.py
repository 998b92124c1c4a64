"""Run a fault scenario against the running local stack and record what Prometheus and Loki saw.

    python -m stack record broker_down --out samples/broker_down [--broker 2]
        [--baseline-s 150 --fault-s 120 --after-s 150 --step-s 5]

Timeline: make sure the load runs and the cluster is healthy (every partition fully in sync),
wait `baseline`, inject (the UTC instant is the ground truth `injected_at`), wait `fault`,
recover (`recovered_at`), wait `after`, then pull every promql_library signal over the window at
`step` and every log line Loki has for the brokers, and write a bundle (app.bundle.write_bundle)
with ground_truth.json. `quiet` injects nothing (cause `none`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import requests
import yaml

from app.bundle import GroundTruth, Manifest, write_bundle
from app.model import Window, iso
from stack import faults, load

CATALOG = Path(__file__).resolve().parent / "scenarios" / "catalog.yaml"
HTTP_TIMEOUT_S = 30
LOKI_PAGE = 5000


class RecordError(RuntimeError):
    """A recording could not be made; the message says what to fix."""


# --------------------------------------------------------------------------- scenarios as data


@dataclass(frozen=True)
class Scenario:
    name: str
    cause: str
    broker: str | None
    baseline_s: float
    fault_s: float
    after_s: float
    step_s: float
    params: dict = field(default_factory=dict)
    description: str = ""
    settle_s: float = 60.0


def load_catalog(path: Path = CATALOG) -> dict[str, Scenario]:
    data = yaml.safe_load(path.read_text())
    defaults = data.get("defaults", {})
    out = {}
    for name, body in data["scenarios"].items():
        merged = {**defaults, **body}
        cause = merged["cause"]
        if cause != "none" and cause not in faults.CAUSES:
            raise RecordError(f"{path}: scenario {name} has unknown cause {cause!r}")
        out[name] = Scenario(
            name=name,
            cause=cause,
            broker=str(merged.get("broker") or "") or None,
            baseline_s=float(merged["baseline_s"]),
            fault_s=float(merged["fault_s"]),
            after_s=float(merged["after_s"]),
            step_s=float(merged["step_s"]),
            settle_s=float(merged.get("settle_s", 60)),
            params=dict(merged.get("params") or {}),
            description=merged.get("description", ""),
        )
    return out


# --------------------------------------------------------------------------- the running stack


@dataclass
class StackEndpoints:
    """Everything recording needs to know about the running stack."""

    ops: faults.StackOps
    prometheus_url: str
    loki_url: str
    cluster: str
    versions: dict[str, str]


class _StackOps:
    """faults.StackOps over the stack package's `Stack` (broker ids as strings here)."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.bootstrap: str = stack.bootstrap_servers
        self.run_dir: Path = Path(stack.root)

    def brokers(self) -> list[str]:
        return [str(b) for b in self.stack.broker_ids]

    def node_pid(self, broker: str) -> int | None:
        return self.stack.node_pid(int(broker))

    def start_node(self, broker: str) -> None:
        self.stack.start_node(int(broker), wait=True, timeout=180)

    def node_log_dirs(self, broker: str) -> list[Path]:
        return [self.stack.node_data_dir(int(broker))]


def connect() -> StackEndpoints:
    """Attach to the running stack (`python -m stack up`)."""
    from stack.runtime import Stack, StackNotRunning

    try:
        stack = Stack.attach()
    except StackNotRunning as exc:
        raise RecordError(f"{exc}; start it with `make stack-up`") from None
    if not stack.is_running():
        raise RecordError("the stack is not running; start it with `make stack-up`")
    return endpoints_for(stack)


def endpoints_for(stack) -> StackEndpoints:
    """Endpoints, fault operations and component versions of a `stack.Stack`."""
    from stack import config

    versions = {
        "kafka": config.KAFKA_VERSION,
        "jmx_exporter": f"jmx_prometheus_javaagent {config.JMX_AGENT_VERSION}",
        "loki": config.LOKI_VERSION.lstrip("v"),
        "prometheus": prometheus_version(stack.prometheus_url),
        "java": _java_version(),
        # both are the project's own (the Go exporters and promtail cannot be built here)
        "lag_exporter": "stack/lag_exporter.py (kafka_exporter metric names)",
        "log_shipper": "stack/shipper.py",
    }
    return StackEndpoints(
        ops=_StackOps(stack),
        prometheus_url=stack.prometheus_url,
        loki_url=stack.loki_url,
        cluster=stack.cluster,
        versions=versions,
    )


def _java_version() -> str:
    import subprocess

    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20).stderr
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = out.splitlines()[0] if out else ""
    return first.split('"')[1] if first.count('"') >= 2 else first


def wait_healthy(ops: faults.StackOps, timeout_s: float = 240.0, log=print) -> float:
    """Block until every broker runs and every load-topic partition has its full ISR; return seconds."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    started = time.monotonic()
    deadline = started + timeout_s
    reason = "not checked yet"
    while time.monotonic() < deadline:
        missing = [b for b in ops.brokers() if not ops.node_pid(b)]
        if missing:
            reason = f"brokers not running: {missing}"
        else:
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=ops.bootstrap, request_timeout_ms=10000, client_id="kil-record"
                )
                try:
                    topics = admin.describe_topics([t.name for t in load.DEFAULT.topics])
                finally:
                    admin.close()
                short = [
                    f"{t['name']}-{p['partition_index']}"
                    for t in topics
                    for p in t["partitions"]
                    if len(p["isr_nodes"]) < len(p["replica_nodes"]) or p["leader_id"] < 0
                ] + [t["name"] for t in topics if t["error_code"]]
                if not short and topics:
                    return time.monotonic() - started
                reason = f"partitions not fully in sync: {short[:6]}"
            except KafkaError as exc:
                reason = f"admin error: {exc}"
        time.sleep(3)
    raise RecordError(
        f"cluster not healthy after {timeout_s:.0f}s ({reason}); check `python -m stack status`"
    )


def settle(ops: faults.StackOps, settle_s: float, log=print) -> float:
    """Give leadership back to the preferred replicas, then wait `settle_s`; return seconds.

    A broker restarted by the previous scenario leads nothing until Kafka's automatic
    preferred-leader election (leader.imbalance.check.interval.seconds, 300 s) runs, and that can
    land inside the next baseline: leader counts, traffic and fetch rates all step, a real regime
    change in a window meant to be healthy. Electing now and letting the 20 s rate() windows and
    the ISR settle keeps the baseline quiet.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    started = time.monotonic()
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=ops.bootstrap, request_timeout_ms=15000, client_id="kil-record"
        )
        try:
            # ELECTION_NOT_NEEDED for balanced partitions is the normal answer, not an error
            admin.elect_leaders(0, None, timeout_ms=15000, raise_errors=False)
        finally:
            admin.close()
    except KafkaError as exc:
        raise RecordError(
            f"preferred leader election failed ({exc}); check `python -m stack status`"
        ) from None
    log(f"preferred leaders elected; settling {settle_s:.0f}s before the baseline")
    time.sleep(settle_s)
    return time.monotonic() - started


def ensure_load(ops: faults.StackOps, warmup_s: float = 30.0, log=print) -> None:
    if load.read_pid(ops.run_dir, "producer"):
        return
    log("starting load ...")
    load.start(ops.bootstrap, ops.run_dir)
    time.sleep(warmup_s)  # let rate() windows fill and the groups settle before a baseline starts


# --------------------------------------------------------------------------- running a scenario


@dataclass(frozen=True)
class Run:
    window: Window
    truth: GroundTruth
    timings: dict[str, float]


def now() -> datetime:
    return datetime.now(UTC)


def run_scenario(scenario: Scenario, ops: faults.StackOps, broker: str | None = None, log=print) -> Run:
    fault = None if scenario.cause == "none" else faults.make(scenario.cause)
    target = broker or scenario.broker
    if fault is not None and fault.needs_broker and not target:
        raise RecordError(f"scenario {scenario.name} needs a broker; pass --broker")
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    ensure_load(ops, log=log)
    timings["healthy_wait_s"] = wait_healthy(ops, log=log)
    timings["settle_s"] = settle(ops, scenario.settle_s, log=log) if scenario.settle_s > 0 else 0.0
    start = now()
    log(f"{iso(start)} baseline {scenario.baseline_s:.0f}s")
    time.sleep(scenario.baseline_s)
    injected_at = recovered_at = None
    if fault is not None:
        ctx = faults.FaultContext(ops=ops, broker=target, params=dict(scenario.params))
        before = now()
        target = fault.inject(ctx)
        # instant faults take effect at the signal; tools that need a warm-up say when they started
        injected_at = ctx.state.get("injected_at") or before
        log(
            f"{iso(injected_at)} injected {scenario.cause} (broker {target}); holding {scenario.fault_s:.0f}s"
        )
        try:
            time.sleep(max(0.0, scenario.fault_s - (now() - injected_at).total_seconds()))
        finally:
            recover_started = now()
            fault.recover(ctx)
            recovered_at = recover_started
            log(f"{iso(now())} recovered (recovery took {(now() - recover_started).total_seconds():.1f}s)")
    else:
        time.sleep(scenario.fault_s)
        target = None
    time.sleep(scenario.after_s)
    end = now()
    timings["scenario_s"] = time.monotonic() - t0
    truth = GroundTruth(
        scenario=scenario.name,
        cause=scenario.cause,
        broker=target,
        injected_at=injected_at,
        recovered_at=recovered_at,
    )
    return Run(window=Window(start, end), truth=truth, timings=timings)


# --------------------------------------------------------------------------- pulling the window


def _get(url: str, params: dict) -> dict:
    try:
        resp = requests.get(url, params=params, timeout=HTTP_TIMEOUT_S)
    except requests.RequestException as exc:
        raise RecordError(f"{url} unreachable: {exc}") from None
    if resp.status_code != 200:
        raise RecordError(f"{url} answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def _metric_names(prometheus_url: str) -> list[str]:
    return _get(f"{prometheus_url}/api/v1/label/__name__/values", {})["data"]


def pull_metrics(
    prometheus_url: str, window: Window, step_s: float, profile: str | None = None
) -> tuple[pd.DataFrame, str, list[str]]:
    """Every library signal over `window` as the bundle's long frame; also the profile and problems."""
    from app.signals import load_library

    library = load_library()
    if profile is None:
        profile, _ = library.detect_profile(_metric_names(prometheus_url))
        if profile is None:
            raise RecordError(f"{prometheus_url} has none of the library's metric names; is it scraping?")
    prof = library.profile(profile)
    rows: list[tuple] = []
    problems: list[str] = []
    for signal in library.in_profile(profile):
        query = signal.render(prof, range_seconds=60)
        try:
            data = _get(
                f"{prometheus_url}/api/v1/query_range",
                {
                    "query": query,
                    "start": window.start.timestamp(),
                    "end": window.end.timestamp(),
                    "step": step_s,
                },
            )
        except RecordError as exc:
            problems.append(f"{signal.id}: {exc}")
            continue
        for series in data["data"]["result"]:
            metric = {k: v for k, v in series["metric"].items() if k != "__name__"}
            broker = metric.get("broker")
            labels = json.dumps(metric, sort_keys=True)
            for ts, value in series["values"]:
                rows.append((float(ts), signal.id, broker, labels, float(value), query))
    frame = pd.DataFrame(rows, columns=["ts", "signal", "broker", "labels", "value", "query"])
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    for col in ("signal", "broker", "labels", "query"):
        frame[col] = frame[col].astype("string")
    return frame, profile, problems


def pull_logs(loki_url: str, window: Window, selector: str = '{broker=~".+"}') -> pd.DataFrame:
    """Every line of `selector` in `window`, paging forward past Loki's per-query cap."""
    rows: list[tuple] = []
    start_ns = int(window.start.timestamp() * 1e9)
    end_ns = int(window.end.timestamp() * 1e9)
    seen_at_edge: set[tuple] = set()
    while True:
        data = _get(
            f"{loki_url}/loki/api/v1/query_range",
            {"query": selector, "start": start_ns, "end": end_ns, "limit": LOKI_PAGE, "direction": "forward"},
        )
        page = []
        for stream in data["data"]["result"]:
            labels = stream["stream"]
            for ts, line in stream["values"]:
                page.append((int(ts), labels, line))
        page.sort(key=lambda r: r[0])
        fresh = [r for r in page if _key(r) not in seen_at_edge]
        for ts, labels, line in fresh:
            rows.append((ts, labels.get("broker"), json.dumps(labels, sort_keys=True), line))
        if len(page) < LOKI_PAGE or not fresh:
            break
        # no cursor in Loki: restart at the last timestamp and drop what that instant already gave
        last = page[-1][0]
        seen_at_edge = {_key(r) for r in page if r[0] == last}
        start_ns = last
    frame = pd.DataFrame(rows, columns=["ts", "broker", "labels", "line"])
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ns", utc=True)
    for col in ("broker", "labels", "line"):
        frame[col] = frame[col].astype("string")
    return frame


def _key(row: tuple) -> tuple:
    ts, labels, line = row
    return ts, json.dumps(labels, sort_keys=True), line


def prometheus_version(prometheus_url: str) -> str:
    try:
        return _get(f"{prometheus_url}/api/v1/status/buildinfo", {})["data"]["version"]
    except (RecordError, KeyError):
        return "unknown"


def pull_window(endpoints: StackEndpoints, window: Window, step_s: float):
    """Metrics and logs of `window` through the app's own LiveSource (what users run); the direct
    pull below is only a fallback so an hour of recording is not lost to a source bug."""
    from app.sources.base import SourceError
    from app.sources.live import LiveSource

    problems: list[str] = []
    try:
        source = LiveSource(
            endpoints.prometheus_url, endpoints.loki_url, cluster=endpoints.cluster, max_log_lines=1_000_000
        )
        metrics = source.metrics(window)
        logs = source.logs(window)
        profile = source.layout().profile
        problems += [
            f"{r.source}: {r.status} {r.message}".strip()
            for r in [*metrics.reports, *logs.reports]
            if r.status != "ok"
        ]
        if len(metrics.frame) and len(logs.frame):
            return metrics.frame, logs.frame, profile, problems
        problems.append("LiveSource returned no metrics or no logs; pulled directly instead")
    except (SourceError, KeyError, ValueError) as exc:
        problems.append(f"LiveSource failed ({exc}); pulled directly instead")
    frame, profile, more = pull_metrics(endpoints.prometheus_url, window, step_s)
    return frame, pull_logs(endpoints.loki_url, window), profile, problems + more


def record_bundle(
    endpoints: StackEndpoints, run: Run, out: Path, step_s: float, scenario: Scenario, log=print
) -> Path:
    # Loki's ingester and Prometheus' last scrape trail the wall clock by a few seconds
    time.sleep(6)
    t0 = time.monotonic()
    metrics, logs, profile, problems = pull_window(endpoints, run.window, step_s)
    pull_s = time.monotonic() - t0
    versions = dict(endpoints.versions)
    versions.setdefault("prometheus", prometheus_version(endpoints.prometheus_url))
    versions["recorder"] = "stack/record.py"
    notes = (
        f"scenario {scenario.name}: {scenario.description}. Load: {load.DEFAULT.rate:.0f} msg/s x "
        f"{load.DEFAULT.message_bytes} B, topics "
        + ", ".join(f"{t.name}({t.partitions}p)" for t in load.DEFAULT.topics)
        + f", RF {load.REPLICATION_FACTOR}, min ISR {load.MIN_INSYNC_REPLICAS}."
    )
    if problems:
        notes += " Source reports: " + "; ".join(problems)
    manifest = Manifest(
        cluster=endpoints.cluster,
        brokers=endpoints.ops.brokers(),
        window=run.window,
        step_seconds=step_s,
        profile=profile,
        created_at=now(),
        versions=versions,
        notes=notes,
    )
    path = write_bundle(out, manifest, metrics, logs, run.truth)
    size = sum(f.stat().st_size for f in path.iterdir())
    log(
        f"wrote {path}: {len(metrics)} metric rows ({metrics['signal'].nunique()} signals), "
        f"{len(logs)} log lines, {size / 1e6:.2f} MB, pulled in {pull_s:.1f}s"
    )
    return path


def record(
    name: str,
    out: Path,
    broker: str | None = None,
    overrides: dict | None = None,
    endpoints: StackEndpoints | None = None,
    log=print,
) -> Path:
    catalog = load_catalog()
    if name not in catalog:
        raise RecordError(f"unknown scenario {name!r}; choose one of: {', '.join(catalog)}")
    scenario = catalog[name]
    if overrides:
        scenario = Scenario(**{**scenario.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    endpoints = endpoints or connect()
    run = run_scenario(scenario, endpoints.ops, broker=broker, log=log)
    return record_bundle(endpoints, run, out, scenario.step_s, scenario, log=log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stack record",
        description="run a fault scenario on the running stack and record a bundle",
    )
    parser.add_argument("scenario", help="scenario name: " + ", ".join(load_catalog()))
    parser.add_argument(
        "--out", required=True, type=Path, help="bundle directory to write (e.g. samples/NAME)"
    )
    parser.add_argument("--broker", help="target broker id (default: the scenario's)")
    parser.add_argument("--baseline-s", type=float)
    parser.add_argument("--fault-s", type=float)
    parser.add_argument("--after-s", type=float)
    parser.add_argument("--step-s", type=float)
    parser.add_argument(
        "--settle-s",
        type=float,
        help="seconds between the preferred-leader election and the baseline (default 60)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        record(
            args.scenario,
            args.out,
            broker=args.broker,
            overrides={
                "baseline_s": args.baseline_s,
                "fault_s": args.fault_s,
                "after_s": args.after_s,
                "step_s": args.step_s,
                "settle_s": args.settle_s,
            },
        )
    except (RecordError, faults.FaultError, load.LoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"recording took {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
