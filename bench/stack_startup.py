"""Time and memory of the local stack: warm install, start-to-healthy, stop, RSS per component.

    python bench/stack_startup.py [--runs 2]

Runs a separate stack instance (STACK_DIR=<repo>/.stack/bench, ports 18092+ and 979x) so it does not
touch a stack you have running. Baseline, measured in the same run: one bare JVM run of Kafka's
StorageTool (`random-uuid`), i.e. what a single JVM start costs on this machine right now; the
start time is also printed as a multiple of it, which stays comparable when the machine is busy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

os.environ.update(
    STACK_DIR=str(REPO / ".stack" / "bench"),
    STACK_KAFKA_PORT_BASE="18092",
    STACK_PROMETHEUS_PORT="9791",
    STACK_LOKI_PORT="3791",
    STACK_LOKI_GRPC_PORT="9792",
    STACK_LAG_EXPORTER_PORT="9793",
)

import psutil  # noqa: E402

from stack import Stack  # noqa: E402
from stack.install import artifacts, install  # noqa: E402


def jvm_baseline() -> float:
    t0 = time.monotonic()
    subprocess.run(
        ["java", "-cp", f"{artifacts().kafka_lib}/*", "kafka.tools.StorageTool", "random-uuid"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return time.monotonic() - t0


def rss_mib(stack: Stack) -> dict[str, float]:
    out = {}
    for s in stack.status():
        if s.pid is None:
            continue
        try:
            p = psutil.Process(s.pid)
            out[s.name] = (p.memory_info().rss + sum(c.memory_info().rss for c in p.children(True))) / 2**20
        except psutil.Error:
            pass
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    t0 = time.monotonic()
    install(echo=lambda _m: None)
    print(f"install (warm)          {time.monotonic() - t0:6.2f} s")
    base = [jvm_baseline() for _ in range(2)]
    baseline = statistics.median(base)
    print(f"baseline: one JVM start {baseline:6.2f} s")
    ups, downs = [], []
    for i in range(args.runs):
        stack = Stack()
        t0 = time.monotonic()
        stack.start(timeout=300)
        ups.append(time.monotonic() - t0)
        if i == 0:
            time.sleep(20)  # let the brokers settle before reading memory
            mem = rss_mib(stack)
        t0 = time.monotonic()
        stack.stop()
        downs.append(time.monotonic() - t0)
    runs = ", ".join(f"{u:.1f}" for u in ups)
    print(f"stack up -> healthy     {statistics.median(ups):6.2f} s  (runs: {runs})")
    print(f"  = {statistics.median(ups) / baseline:.1f} x one JVM start")
    print(f"stack down              {statistics.median(downs):6.2f} s")
    for name, mib in mem.items():
        print(f"  rss {name:<13} {mib:7.0f} MiB")
    print(f"  rss total         {sum(mem.values()):7.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
