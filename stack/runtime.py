"""The running stack: start, stop, health, single-node control, endpoints.

`Stack` is the API the CLI, the test fixture and the fault scenarios share. State lives in
<STACK_DIR>/run/state.json (ports, pids), so any process can `Stack.attach()` to a stack that
another process started.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from stack import config, procs, templates
from stack.config import StackConfig
from stack.install import artifacts

HTTP_TIMEOUT_S = 5.0
KAFKA_COMPONENTS_PREFIX = "kafka-"


class StackError(RuntimeError):
    """Something about the stack failed; the message names the component and its log file."""


class StackNotRunning(StackError):
    pass


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    state: str  # running | stopped (SIGSTOP) | exited | not started
    url: str
    log: Path


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {path})"
    return "\n".join("    " + line for line in text)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Stack:
    """One local stack. Use `Stack()` to start a new one or `Stack.attach()` for a running one.

    Endpoints: prometheus_url, loki_url, bootstrap_servers, lag_exporter_url, jmx_url(n).
    Nodes: broker_ids, node_pid(n), node_log_dir(n), node_data_dir(n), start_node, stop_node,
    resume_node, is_node_running, active_controller().
    """

    def __init__(self, cfg: StackConfig | None = None, root: Path | None = None) -> None:
        self.config = cfg or StackConfig.from_env()
        self.root = (root or config.run_dir()).resolve()
        self.art = artifacts()

    # ---------------------------------------------------------------- endpoints and paths
    @property
    def prometheus_url(self) -> str:
        return self.config.prometheus_url

    @property
    def loki_url(self) -> str:
        return self.config.loki_url

    @property
    def bootstrap_servers(self) -> str:
        return self.config.bootstrap_servers

    @property
    def lag_exporter_url(self) -> str:
        return self.config.lag_exporter_url

    @property
    def cluster(self) -> str:
        return self.config.cluster

    @property
    def broker_ids(self) -> list[int]:
        return self.config.node_ids

    def jmx_url(self, node: int) -> str:
        return self.config.jmx_url(self._check_node(node))

    def node_dir(self, node: int) -> Path:
        return self.root / f"kafka-{self._check_node(node)}"

    def node_log_dir(self, node: int) -> Path:
        return self.node_dir(node) / "logs"

    def node_data_dir(self, node: int) -> Path:
        return self.node_dir(node) / "data"

    def node_pid(self, node: int) -> int | None:
        proc = self._proc(f"kafka-{self._check_node(node)}")
        return proc.pid if procs.is_alive(proc) else None

    def _check_node(self, node: int) -> int:
        if node not in self.config.node_ids:
            raise ValueError(f"broker {node!r} does not exist; brokers are {self.config.node_ids}")
        return node

    # ---------------------------------------------------------------- state file
    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    @contextlib.contextmanager
    def _locked_state(self) -> Iterator[dict]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "state.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read_state()
            yield state
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=2))
            tmp.replace(self.state_path)

    def _read_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _proc(self, name: str) -> procs.Proc | None:
        return procs.Proc.from_dict(self._read_state().get("components", {}).get(name))

    def _record(self, name: str, proc: procs.Proc | None) -> None:
        with self._locked_state() as state:
            comps = state.setdefault("components", {})
            if proc is None:
                comps.pop(name, None)
            else:
                comps[name] = proc.to_dict()

    @classmethod
    def attach(cls, root: Path | None = None) -> Stack:
        """The stack recorded under STACK_DIR/run, with the ports it was started with."""
        root = (root or config.run_dir()).resolve()
        try:
            state = json.loads((root / "state.json").read_text())
        except (OSError, ValueError):
            raise StackNotRunning(
                f"no stack state at {root / 'state.json'}; start one with `python -m stack up`"
            ) from None
        return cls(StackConfig.from_dict(state["config"]), root)

    # ---------------------------------------------------------------- components
    def component_names(self) -> list[str]:
        return ["loki", "prometheus", *[f"kafka-{n}" for n in self.broker_ids], "lag-exporter", "shipper"]

    def component_log(self, name: str) -> Path:
        if name.startswith(KAFKA_COMPONENTS_PREFIX):
            return self.root / name / "logs" / "kafkaServer.out"
        return self.root / name / "stdout.log"

    def component_url(self, name: str) -> str:
        if name.startswith(KAFKA_COMPONENTS_PREFIX):
            n = int(name.split("-")[1])
            return f"kafka://{self.config.host}:{self.config.kafka_port(n)}  metrics {self.config.jmx_url(n)}"
        return {
            "loki": self.loki_url,
            "prometheus": self.prometheus_url,
            "lag-exporter": self.lag_exporter_url,
            "shipper": f"-> {self.loki_url}/loki/api/v1/push",
        }[name]

    def status(self) -> list[ComponentStatus]:
        comps = self._read_state().get("components", {})
        out = []
        for name in self.component_names():
            proc = procs.Proc.from_dict(comps.get(name))
            if proc is None:
                state = "not started"
            elif procs.is_stopped(proc):
                state = "stopped (SIGSTOP)"
            elif procs.is_alive(proc):
                state = "running"
            else:
                state = "exited"
            out.append(
                ComponentStatus(
                    name,
                    proc.pid if proc else None,
                    state,
                    self.component_url(name),
                    self.component_log(name),
                )
            )
        return out

    def is_running(self) -> bool:
        """True if any component of this stack is alive."""
        return any(s.state.startswith(("running", "stopped")) for s in self.status())

    # ---------------------------------------------------------------- commands
    def _java(self) -> str:
        java = shutil.which("java")
        if not java:
            raise StackError("java is not on PATH; install a Java 17+ runtime")
        return java

    def _classpath(self) -> str:
        return f"{self.art.kafka_lib}/*"

    def node_command(
        self, node: int, *, heap: str | None = None, extra_jvm_args: tuple[str, ...] = ()
    ) -> list[str]:
        logs = self.node_log_dir(node)
        heap = heap or self.config.heap
        return [
            self._java(),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-server",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:MaxInlineLevel=15",
            "-Djava.awt.headless=true",
            f"-Xlog:gc*:file={logs}/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M",
            f"-Dkafka.logs.dir={logs}",
            f"-Dlog4j2.configurationFile={config.PACKAGE_DIR / 'kafka' / 'log4j2.yaml'}",
            "-Duser.timezone=UTC",
            f"-javaagent:{self.art.jmx_agent}={self.config.host}:{self.config.jmx_port(node)}:"
            f"{config.PACKAGE_DIR / 'kafka' / 'jmx-kafka.yml'}",
            *extra_jvm_args,
            "-cp",
            self._classpath(),
            "kafka.Kafka",
            str(self.node_dir(node) / "server.properties"),
        ]

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "TZ": "UTC"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(config.REPO), env.get("PYTHONPATH", "")] if p)
        return env

    def _rule_files(self) -> tuple[list[Path], list[str]]:
        """Rule files under recording_rules/ that promtool accepts, and warnings for the rest."""
        folder = config.REPO / "recording_rules"
        files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
        promtool = shutil.which("promtool")
        good, warnings = [], []
        for f in files:
            if promtool:
                res = subprocess.run(
                    [promtool, "check", "rules", str(f)], capture_output=True, text=True, timeout=60
                )
                if res.returncode != 0:
                    warnings.append(
                        f"skipped {f}: promtool check rules failed: "
                        f"{(res.stdout + res.stderr).strip()[-400:]}"
                    )
                    continue
            good.append(f)
        return good, warnings

    def _write_prometheus_config(self) -> list[str]:
        rules, warnings = self._rule_files()
        path = self.root / "prometheus" / "prometheus.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(templates.prometheus_config(self.config, rules))
        with self._locked_state() as state:
            state["rule_files"] = [str(r) for r in rules]
            state["rule_warnings"] = warnings
        return warnings

    def reload_rules(self) -> list[str]:
        """Re-read recording_rules/*.yml into the running Prometheus; returns warnings."""
        warnings = self._write_prometheus_config()
        r = requests.post(f"{self.prometheus_url}/-/reload", timeout=HTTP_TIMEOUT_S)
        if r.status_code != 200:
            raise StackError(f"Prometheus reload failed: HTTP {r.status_code} {r.text[:300]}")
        return warnings

    # ---------------------------------------------------------------- start
    def _preflight(self) -> None:
        missing = self.art.missing()
        if missing:
            raise StackError(
                "the stack is not installed: missing "
                + "; ".join(missing)
                + ". Run `python -m stack install` (or `make stack-install`)."
            )
        env_names = {
            "prometheus": "STACK_PROMETHEUS_PORT",
            "loki": "STACK_LOKI_PORT",
            "loki-grpc": "STACK_LOKI_GRPC_PORT",
            "lag-exporter": "STACK_LAG_EXPORTER_PORT",
        }
        busy = [
            f"{name} port {port} (set {env_names.get(name, 'STACK_KAFKA_PORT_BASE')})"
            for name, port in self.config.all_ports().items()
            if not _port_free(self.config.host, port)
        ]
        if busy:
            raise StackError(
                "ports already in use: "
                + ", ".join(busy)
                + ". Stop what listens there or choose other ports with those variables."
            )

    def _prepare_dirs(self) -> None:
        # A fresh start every time: formatted storage, empty TSDB and Loki, new logs.
        if self.root.exists():
            for child in self.root.iterdir():
                if child.name in ("state.lock",):
                    continue
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked_state() as state:
            state.clear()
            state["config"] = self.config.to_dict()
            state["started_at"] = datetime.now(UTC).isoformat()
            state["components"] = {}
        for n in self.broker_ids:
            self.node_log_dir(n).mkdir(parents=True)
            self.node_data_dir(n).mkdir(parents=True)
            (self.node_dir(n) / "server.properties").write_text(
                templates.broker_properties(self.config, n, self.node_data_dir(n))
            )
        for name in ("loki", "prometheus", "lag-exporter", "shipper"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        (self.root / "loki" / "loki.yaml").write_text(
            templates.loki_config(self.config, self.root / "loki" / "data")
        )
        (self.root / "shipper" / "shipper.json").write_text(
            templates.shipper_config(
                self.config,
                {n: self.node_log_dir(n) for n in self.broker_ids},
                self.root / "shipper" / "positions.json",
            )
        )

    def _format_storage(self) -> None:
        running = []
        for n in self.broker_ids:
            log = self.node_dir(n) / "format.log"
            with log.open("wb") as out:
                argv = [
                    self._java(),
                    "-Xmx256m",
                    "-cp",
                    self._classpath(),
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    self.config.cluster_id,
                    "-c",
                    str(self.node_dir(n) / "server.properties"),
                ]
                running.append(
                    (
                        n,
                        log,
                        subprocess.Popen(
                            argv,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            env=self._env(),
                        ),
                    )
                )
        for n, log, p in running:
            try:
                rc = p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                raise StackError(f"formatting storage of kafka-{n} timed out; log {log}") from None
            if rc != 0:
                raise StackError(
                    f"formatting storage of kafka-{n} failed (exit {rc}); log {log}\n{_tail(log)}"
                )

    def _spawn(self, name: str, argv: list[str]) -> None:
        proc = procs.spawn(argv, log=self.component_log(name), env=self._env(), cwd=self.root / name)
        self._record(name, proc)

    def start(self, timeout: float = 240.0, echo: Callable[[str], None] = lambda _m: None) -> None:
        """Fresh start of every component, then wait until all are healthy (or raise StackError)."""
        if self.is_running():
            raise StackError(f"a stack is already running from {self.root}; `python -m stack down` first")
        t0 = time.monotonic()
        self._preflight()
        self._prepare_dirs()
        warnings = self._write_prometheus_config()
        for w in warnings:
            echo(f"WARNING: {w}")
        echo("formatting KRaft storage")
        self._format_storage()
        self._spawn("loki", [str(self.art.loki), f"-config.file={self.root / 'loki' / 'loki.yaml'}"])
        self._spawn(
            "prometheus",
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={self.root / 'prometheus' / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.root / 'prometheus' / 'data'}",
                f"--web.listen-address={self.config.host}:{self.config.prometheus_port}",
                "--web.enable-lifecycle",
                "--web.enable-admin-api",
                "--storage.tsdb.retention.time=30d",
            ],
        )
        for n in self.broker_ids:
            self._start_node_process(n)
        self._spawn(
            "shipper",
            [sys.executable, "-m", "stack.shipper", "--config", str(self.root / "shipper" / "shipper.json")],
        )
        self._spawn(
            "lag-exporter",
            [
                sys.executable,
                "-m",
                "stack.lag_exporter",
                "--bootstrap-servers",
                self.bootstrap_servers,
                "--listen",
                f"{self.config.host}:{self.config.lag_exporter_port}",
            ],
        )
        echo(f"processes started in {time.monotonic() - t0:.1f}s; waiting until healthy")
        try:
            self.wait_healthy(timeout=max(30.0, timeout - (time.monotonic() - t0)), echo=echo)
        except StackError:
            raise
        echo(f"stack healthy after {time.monotonic() - t0:.1f}s")

    # ---------------------------------------------------------------- health
    def _alive_or_raise(self, name: str) -> None:
        if not procs.is_alive(self._proc(name)):
            log = self.component_log(name)
            raise StackError(f"{name} exited; its log {log}:\n{_tail(log)}")

    def _wait(
        self,
        what: str,
        names: list[str],
        check: Callable[[], bool],
        deadline: float,
        hint: Callable[[], str] = lambda: "",
    ) -> None:
        last_error = ""
        while True:
            for name in names:
                self._alive_or_raise(name)
            try:
                if check():
                    return
                last_error = ""
            except (requests.RequestException, OSError, ValueError, KeyError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # kafka-python raises its own error types while brokers start
                if "kafka" not in type(exc).__module__:
                    raise
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                logs = ", ".join(str(self.component_log(n)) for n in names)
                extra = "\n".join(x for x in (hint(), last_error and f"last error: {last_error}") if x)
                raise StackError(
                    f"timed out waiting for {what}; logs: {logs}" + (f"\n{extra}" if extra else "")
                )
            time.sleep(0.5)

    def _running_first_bootstrap(self) -> str:
        # A killed or SIGSTOPped node in the bootstrap list makes the first connection fail or hang.
        nodes = sorted(self.broker_ids, key=lambda n: not self.is_node_running(n))
        return ",".join(f"{self.config.host}:{self.config.kafka_port(n)}" for n in nodes)

    def _admin_call(self, call: Callable, attempts: int = 6):
        # kafka-python sends to a random known broker; one that was just killed refuses the
        # connection and is then backed off, so retrying on the same client reaches a live one.
        last: Exception | None = None
        admin = None
        try:
            for _ in range(attempts):
                try:
                    if admin is None:
                        admin = self.admin(
                            bootstrap_servers=self._running_first_bootstrap(), request_timeout_ms=5000
                        )
                    return call(admin)
                except Exception as exc:  # kafka-python's own error types
                    last = exc
                    time.sleep(0.3)
        finally:
            if admin is not None:
                admin.close()
        assert last is not None
        raise last

    def live_brokers(self) -> list[int]:
        """Broker ids the cluster currently reports as registered and unfenced."""
        brokers = self._admin_call(lambda a: a.describe_cluster()["brokers"])
        return sorted(int(b["broker_id"]) for b in brokers if not b.get("is_fenced"))

    def active_controller(self) -> int | None:
        """Node id of the KRaft quorum leader (the active controller), or None if there is none."""
        leader = _find_leader(self._admin_call(lambda a: a.describe_metadata_quorum()))
        return leader if leader is not None and leader >= 0 else None

    def admin(self, **kwargs):
        """A kafka-python KafkaAdminClient for this cluster (caller closes it)."""
        from kafka import KafkaAdminClient

        opts = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": "stack-health",
            "request_timeout_ms": 10000,
            **kwargs,
        }
        return KafkaAdminClient(**opts)

    def _prometheus_targets_up(self) -> bool:
        r = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=HTTP_TIMEOUT_S)
        targets = r.json()["data"]["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    def _prometheus_down_targets(self) -> str:
        try:
            r = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=HTTP_TIMEOUT_S)
            bad = [
                f"{t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}"
                for t in r.json()["data"]["activeTargets"]
                if t["health"] != "up"
            ]
            return "targets not up: " + "; ".join(bad) if bad else ""
        except Exception as exc:  # only for the error message
            return f"could not list targets: {exc}"

    def _loki_has_all_brokers(self) -> bool:
        r = requests.get(f"{self.loki_url}/loki/api/v1/label/broker/values", timeout=HTTP_TIMEOUT_S)
        values = set(r.json().get("data") or [])
        return {str(n) for n in self.broker_ids} <= values

    def wait_healthy(self, timeout: float = 180.0, echo: Callable[[str], None] = lambda _m: None) -> None:
        deadline = time.monotonic() + timeout
        kafka = [f"kafka-{n}" for n in self.broker_ids]
        self._wait(
            "Loki /ready",
            ["loki"],
            lambda: requests.get(f"{self.loki_url}/ready", timeout=HTTP_TIMEOUT_S).status_code == 200,
            deadline,
        )
        echo("  loki ready")
        self._wait(
            "Prometheus /-/ready",
            ["prometheus"],
            lambda: requests.get(f"{self.prometheus_url}/-/ready", timeout=HTTP_TIMEOUT_S).ok,
            deadline,
        )
        echo("  prometheus ready")
        self._wait(
            f"{len(self.broker_ids)} brokers to register",
            kafka,
            lambda: self.live_brokers() == self.broker_ids,
            deadline,
        )
        echo("  kafka: all brokers registered")
        self._wait("an active controller", kafka, lambda: self.active_controller() is not None, deadline)
        self._wait(
            "every Prometheus target to be up",
            ["prometheus", "lag-exporter", *kafka],
            self._prometheus_targets_up,
            deadline,
            hint=self._prometheus_down_targets,
        )
        echo("  prometheus: all targets up")
        self._wait(
            "the shipper to deliver every broker's logs to Loki",
            ["shipper", "loki"],
            self._loki_has_all_brokers,
            deadline,
        )
        echo("  loki: logs from every broker")

    # ---------------------------------------------------------------- single nodes
    def _start_node_process(
        self, node: int, heap: str | None = None, extra_jvm_args: tuple[str, ...] = ()
    ) -> None:
        name = f"kafka-{node}"
        self.node_log_dir(node).mkdir(parents=True, exist_ok=True)
        proc = procs.spawn(
            self.node_command(node, heap=heap, extra_jvm_args=extra_jvm_args),
            log=self.component_log(name),
            env=self._env(),
            cwd=self.node_dir(node),
        )
        self._record(name, proc)

    def is_node_running(self, node: int) -> bool:
        """True if the node's JVM is alive and not SIGSTOPped."""
        proc = self._proc(f"kafka-{self._check_node(node)}")
        return procs.is_alive(proc) and not procs.is_stopped(proc)

    def start_node(
        self,
        node: int,
        *,
        heap: str | None = None,
        extra_jvm_args: tuple[str, ...] = (),
        wait: bool = True,
        timeout: float = 120.0,
    ) -> None:
        """(Re)start one broker JVM; with `wait`, block until the cluster lists it again.

        `heap` (e.g. "128m") and `extra_jvm_args` apply to this start only (gc_pressure scenarios).
        """
        self._check_node(node)
        proc = self._proc(f"kafka-{node}")
        if procs.is_stopped(proc):
            raise StackError(f"kafka-{node} is SIGSTOPped; call resume_node({node}) instead of start_node")
        if procs.is_alive(proc):
            raise StackError(f"kafka-{node} is already running (pid {proc.pid}); stop_node({node}) first")
        self._start_node_process(node, heap=heap, extra_jvm_args=extra_jvm_args)
        if wait:
            self._wait(
                f"kafka-{node} to rejoin the cluster",
                [f"kafka-{node}"],
                lambda: node in self.live_brokers(),
                time.monotonic() + timeout,
            )

    def stop_node(
        self, node: int, sig: int = signal.SIGTERM, *, wait: bool = True, timeout: float = 60.0
    ) -> None:
        """Send `sig` to one broker: SIGTERM (clean shutdown), SIGKILL (crash) or SIGSTOP (hang).

        With `wait`, SIGTERM/SIGKILL block until the JVM has exited (SIGKILL after `timeout` for a
        SIGTERM that hangs) and SIGSTOP until the process is stopped.
        """
        self._check_node(node)
        proc = self._proc(f"kafka-{node}")
        if not procs.is_alive(proc):
            raise StackError(f"kafka-{node} is not running")
        procs.send(proc, sig)
        if not wait:
            return
        if sig == signal.SIGSTOP:
            end = time.monotonic() + 10
            while not procs.is_stopped(proc) and time.monotonic() < end:
                time.sleep(0.05)
            return
        if not procs.wait_exit(proc, timeout):
            procs.send(proc, signal.SIGKILL)
            procs.wait_exit(proc, 10)

    def resume_node(self, node: int) -> None:
        """SIGCONT a SIGSTOPped broker."""
        proc = self._proc(f"kafka-{self._check_node(node)}")
        if not procs.is_alive(proc):
            raise StackError(f"kafka-{node} is not running")
        procs.send(proc, signal.SIGCONT)

    # ---------------------------------------------------------------- stop
    def stop(self, grace: float = 8.0) -> None:
        """Stop every component (SIGTERM, SIGKILL after `grace`). Data and logs stay for inspection."""
        comps = self._read_state().get("components", {})
        # The fault scenarios' producer/consumer workers are separate processes under the run dir;
        # left behind they would keep a CI job (and the ports' clients) alive after the stack is gone.
        from stack import load

        try:
            load.stop(self.root)
        except OSError:
            pass
        order = ["shipper", "lag-exporter", *[f"kafka-{n}" for n in self.broker_ids], "prometheus", "loki"]
        live = [p for name in order if (p := procs.Proc.from_dict(comps.get(name))) is not None]
        procs.terminate(live, grace=grace)
        with self._locked_state() as state:
            state["stopped_at"] = datetime.now(UTC).isoformat()


def _find_leader(quorum: dict) -> int | None:
    """Dig leader_id out of a DescribeQuorum response dict (its nesting differs by version)."""
    if not isinstance(quorum, dict):
        return None
    for key in ("leader_id", "leaderId"):
        if key in quorum:
            return int(quorum[key])
    for value in quorum.values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                found = _find_leader(item)
                if found is not None:
                    return found
    return None


def versions() -> dict[str, str]:
    """Versions of each part, for recordings' metadata."""
    out = {
        "kafka": config.KAFKA_VERSION,
        "jmx_exporter": config.JMX_AGENT_VERSION,
        "loki": config.LOKI_VERSION,
        "lag_exporter": "stack.lag_exporter (kafka_exporter metric names)",
        "shipper": "stack.shipper",
    }
    prom = shutil.which("prometheus")
    if prom:
        try:
            res = subprocess.run([prom, "--version"], capture_output=True, text=True, timeout=10)
            first = (res.stdout or res.stderr).splitlines()[0]
            out["prometheus"] = first.split("version ")[1].split(" ")[0] if "version " in first else first
        except (OSError, subprocess.SubprocessError, IndexError):
            pass
    return out
