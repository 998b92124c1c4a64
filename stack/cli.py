"""Command line for the local stack: install, up, down, status."""

from __future__ import annotations

import argparse
import sys
import time


def _print_status(stack) -> None:
    for s in stack.status():
        pid = f"pid {s.pid}" if s.pid else ""
        print(f"  {s.name:<13} {s.state:<18} {pid:<11} {s.url}")
        print(f"  {'':<13} log {s.log}")


def cmd_up(args) -> int:
    from stack.runtime import Stack, StackError, StackNotRunning

    try:
        existing = Stack.attach()
    except StackNotRunning:
        existing = None
    if existing is not None and existing.is_running():
        print(f"stack up: already running from {existing.root}; checking health")
        try:
            existing.wait_healthy(timeout=args.timeout)
        except StackError as exc:
            print(f"stack up FAILED: {exc}", file=sys.stderr)
            return 1
        _print_status(existing)
        return 0
    stack = Stack()
    t0 = time.monotonic()
    try:
        stack.start(timeout=args.timeout, echo=lambda m: print(f"stack up: {m}", flush=True))
    except (StackError, ValueError) as exc:
        print(f"stack up FAILED: {exc}", file=sys.stderr)
        print("stack up: stopping what was started (run `python -m stack status` for logs)", file=sys.stderr)
        stack.stop(grace=5)
        return 1
    print(f"stack up: healthy in {time.monotonic() - t0:.1f}s")
    print(f"  Prometheus  {stack.prometheus_url}")
    print(f"  Loki        {stack.loki_url}")
    print(f"  Kafka       {stack.bootstrap_servers}")
    _print_status(stack)
    return 0


def cmd_down(_args) -> int:
    from stack.runtime import Stack, StackNotRunning

    try:
        stack = Stack.attach()
    except StackNotRunning:
        print("stack down: nothing recorded as running")
        return 0
    t0 = time.monotonic()
    stack.stop()
    print(f"stack down: stopped in {time.monotonic() - t0:.1f}s (logs and data kept under {stack.root})")
    return 0


def cmd_status(_args) -> int:
    from stack.runtime import Stack, StackNotRunning

    try:
        stack = Stack.attach()
    except StackNotRunning as exc:
        print(f"stack status: {exc}")
        return 3
    print(f"stack status: {stack.root}")
    _print_status(stack)
    state = stack._read_state()
    for rule_file in state.get("rule_files", []):
        print(f"  rules loaded  {rule_file}")
    for warning in state.get("rule_warnings", []):
        print(f"  WARNING       {warning}")
    return 0 if stack.is_running() else 3


def main(argv: list[str] | None = None) -> int:
    import sys as _sys

    argv = list(_sys.argv[1:] if argv is None else argv)
    # Scenario, recording and load commands belong to their own modules and parse their own args.
    if argv and argv[0] in ("record", "scenario"):
        from stack import record

        return record.main(argv[1:])
    if argv and argv[0] == "load":
        from stack import load

        return load.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m stack", description="Local Kafka observability stack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download and build everything the stack needs (cached, idempotent)")
    up = sub.add_parser("up", help="start the stack (fresh state) and wait until it is healthy")
    up.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for health (default 240)")
    sub.add_parser("down", help="stop every process of the stack")
    sub.add_parser("status", help="print each component, its pid, URL and log (exit 3 if not running)")
    sub.add_parser("record", help="run a fault scenario and record its bundle (see stack.record)")
    sub.add_parser("scenario", help="same as record")
    sub.add_parser("load", help="load generator start|stop|status (see stack.load)")
    args = parser.parse_args(argv)
    if args.command == "install":
        from stack.install import main as install_main

        return install_main()
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status}[args.command](args)
