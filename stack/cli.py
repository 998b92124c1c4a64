"""Command line for the local stack: install, up, down, status."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description="Local Kafka observability stack")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("install", "download and build everything the stack needs (cached, idempotent)"),
        ("up", "start the stack and wait until it is healthy"),
        ("down", "stop every process of the stack"),
        ("status", "print each component and its URL"),
    ]:
        sub.add_parser(name, help=text)
    args = parser.parse_args(argv)
    print(f"stack {args.command}: not implemented yet (skeleton)")
    return 0
