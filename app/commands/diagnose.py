"""`python -m app diagnose`: one window of one cluster → an Incident (JSON) or its note (markdown)."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli import UsageError
from app.commands.common import add_source_arguments, add_window_arguments, open_source, window_from_args
from app.config import Config, ConfigError, load_config
from app.pipeline import UnknownBroker, diagnose

PARTIAL_EXIT = 3  # printed a result, but a source failed: some evidence is missing


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("diagnose", help="diagnose a window from a bundle or live servers")
    add_source_arguments(parser)
    add_window_arguments(parser)
    parser.add_argument("--broker", default="all", help="broker id to focus on, or 'all' (default)")
    parser.add_argument(
        "--format",
        choices=["md", "markdown", "json", "note-json"],
        default="md",
        help="md/markdown: the note; json: the Incident; note-json: the Incident and the note with its parts",
    )
    parser.add_argument(
        "--note",
        choices=["auto", "template", "llm"],
        default="auto",
        help="auto (default): an LLM draft when an LLM is configured, else the template; "
        "template: never call an LLM; llm: require the configured LLM "
        "(the template stays the fallback when its draft fails the checks)",
    )
    parser.add_argument("--no-llm", action="store_true", help="same as --note template")
    parser.add_argument("--config", help="YAML settings file (default: $LENS_CONFIG, else ./lens.yaml)")
    return parser


def run(args: argparse.Namespace) -> int:
    note_mode, config = _note_settings(args)
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
        from app.note import write_note

        checked = sorted(result.metrics["signal"].astype(str).unique()) if not result.metrics.empty else []
        try:
            note = write_note(incident, mode=note_mode, config=config, checked=checked)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if args.format == "note-json":
            print(json.dumps({"incident": incident.to_dict(), "note": note.to_dict()}, indent=2))
        else:
            print(note.markdown, end="")
        print(note.accounting(), file=sys.stderr)
    failed = [report for report in incident.sources if report.status == "error"]
    for report in failed:
        print(f"warning: {report.source}: {report.message}", file=sys.stderr)
    for report in incident.sources:
        if report.status == "no_data":  # e.g. a window older than the servers' retention
            print(f"warning: {report.source}: no data in this window: {report.message}", file=sys.stderr)
    if failed:
        print(
            "warning: the result above is partial ("
            + ", ".join(r.source for r in failed)
            + " missing); exit code 3",
            file=sys.stderr,
        )
    return PARTIAL_EXIT if failed else 0


def _note_settings(args: argparse.Namespace) -> tuple[str, Config]:
    """Read the configuration before any work, so a bad setting exits 2 with its reason."""
    if args.no_llm and args.note == "llm":
        raise UsageError("--no-llm and --note llm contradict each other; pick one")
    mode = "template" if args.no_llm else args.note
    try:
        config = load_config(path=args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if mode == "llm" and config.llm.resolved_backend() == "none":
        raise UsageError(
            "--note llm needs an LLM: set ANTHROPIC_API_KEY, or LENS_LLM_BASE_URL and LENS_LLM_MODEL"
        )
    return mode, config
