"""`python -m app logs`: classified log events of a window (what the app's timeline and MCP show)."""

from __future__ import annotations

import argparse
import json

from app import service
from app.cli import UsageError
from app.commands.common import add_source_arguments, add_window_arguments, open_source


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("logs", help="classified log events, class counts and unclassified line families")
    add_source_arguments(parser)
    add_window_arguments(parser)
    parser.add_argument("--broker", default="all", help="broker id, or 'all' (default)")
    parser.add_argument("--class", dest="classes", action="append", help="only this event class (repeatable)")
    parser.add_argument(
        "--limit", type=int, default=200, help=f"events to print (max {service.MAX_LOG_EVENTS})"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    source = open_source(args)
    try:
        result = service.pull_logs(source, args.start, args.end, args.broker, args.classes, args.limit)
    except service.BadRequest as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(result, indent=2))
    return 0
