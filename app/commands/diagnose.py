"""`python -m app diagnose`: one window of one cluster → an Incident (JSON) or its note (markdown)."""

from __future__ import annotations

import argparse
import sys

from app.cli import UsageError
from app.commands.common import add_source_arguments, add_window_arguments, open_source, window_from_args
from app.pipeline import UnknownBroker, diagnose


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("diagnose", help="diagnose a window from a bundle or live servers")
    add_source_arguments(parser)
    add_window_arguments(parser)
    parser.add_argument("--broker", default="all", help="broker id to focus on, or 'all' (default)")
    parser.add_argument("--format", choices=["md", "json"], default="md")
    parser.add_argument("--no-llm", action="store_true", help="deterministic note, never call an LLM")
    return parser


def run(args: argparse.Namespace) -> int:
    source = open_source(args)
    window = window_from_args(args, source)
    try:
        result = diagnose(source, window=window, broker=args.broker)
    except UnknownBroker as exc:
        raise UsageError(str(exc)) from None
    incident = result.incident
    if args.format == "json":
        print(incident.to_json())
    else:
        from app.render import note_markdown

        print(note_markdown(incident, no_llm=args.no_llm))
    for report in incident.sources:
        if report.status == "error":
            print(f"warning: {report.source}: {report.message}", file=sys.stderr)
    return 0


