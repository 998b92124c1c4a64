"""Extra real servers for fault tests, so faults never touch the shared stack's own servers.

- `SecondPrometheus`: the Debian Prometheus binary on a free port with the stack's own scrape
  config (same targets, same `cluster`/`broker` labels) and an empty TSDB. Stopping, killing or
  delaying it leaves the stack's Prometheus (which other tests read) alone.
- `LokiFrontend`: the stack's Loki binary as `-target=query-frontend` with
  `-querier.max-outstanding-requests-per-tenant=0`: Loki's own rate limit code answers every query
  with HTTP 429 "too many outstanding requests" (the limit configured as low as it goes).

Both are started and stopped by the test (process group, SIGKILL fallback), and their logs kept
under the given work directory.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server:
    name = "server"

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def _spawn(self, argv: list[str]) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server now (SIGKILL by default: a crash, no graceful goodbye)."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            if sig in (signal.SIGKILL, signal.SIGTERM):
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.kill(signal.SIGTERM)

    def _wait(self, what: str, probe, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited while waiting for {what}; log {self.log}:\n"
                    + self.log.read_text(errors="replace")[-1500:]
                )
            try:
                if probe():
                    return
            except (requests.RequestException, ValueError, KeyError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
        raise RuntimeError(f"{self.name}: {what} not seen within {timeout:.0f}s ({last}); log {self.log}")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class SecondPrometheus(_Server):
    name = "prometheus-2"

    def __init__(self, stack, workdir: Path):
        super().__init__(workdir)
        self.stack = stack

    def start(self, data_timeout: float = 90.0) -> SecondPrometheus:
        from stack import templates

        config = self.workdir / "prometheus.yml"
        config.write_text(templates.prometheus_config(self.stack.config, []))
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        self._spawn(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1d",
            ]
        )
        self._wait("/-/ready", lambda: requests.get(f"{self.url}/-/ready", timeout=3).ok, 60)
        # A few scrapes of every broker, so there is a window with data to diagnose.
        want = len(self.stack.broker_ids)
        self._wait(
            f"samples from {want} brokers",
            lambda: (
                len(_instant(self.url, "count_over_time(kafka_server_replicamanager_leadercount[1m]) >= 3"))
                >= want
            ),
            data_timeout,
        )
        return self


class LokiFrontend(_Server):
    name = "loki-frontend"

    def start(self) -> LokiFrontend:
        from stack import templates
        from stack.config import StackConfig
        from stack.install import artifacts

        grpc = free_port()
        cfg = dataclasses.replace(StackConfig(), loki_port=self.port, loki_grpc_port=grpc)
        config = self.workdir / "loki-frontend.yaml"
        config.write_text(templates.loki_config(cfg, self.workdir / "data"))
        self._spawn(
            [
                str(artifacts().loki),
                f"-config.file={config}",
                "-target=query-frontend",
                "-querier.max-outstanding-requests-per-tenant=0",
            ]
        )
        self._wait(
            "the HTTP port",
            lambda: requests.get(f"{self.url}/loki/api/v1/labels", timeout=3).status_code == 429,
            60,
        )
        return self


def _instant(url: str, query: str) -> list:
    response = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]
