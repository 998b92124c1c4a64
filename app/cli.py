"""`python -m app <command>`: parse input, call the core, print. No logic of its own.

Each command lives in its own module under app/commands/ exposing
`register(subparsers)` (adds its parser) and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from app.sources.base import SourceError

# One line per command; each module owns its arguments.
COMMANDS = ["diagnose", "logs", "mcp", "rules", "check", "snapshot"]


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Kafka Incident Lens")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"app.commands.{name}")
        command = module.register(sub)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args._run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SourceError as exc:
        # A server failed where no partial result is possible: one line naming it, no traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `python -m app diagnose ... | head`: the reader left; stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
