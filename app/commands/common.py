"""Arguments shared by the commands that read a source over a window."""

from __future__ import annotations

import argparse
from datetime import timedelta

from app.bundle import BundleError
from app.cli import UsageError
from app.model import Window
from app.sources.base import Source
from app.timeparse import TimeParseError, parse_window

# A window longer than this would pull more than a diagnosis needs; say so instead of hanging.
MAX_WINDOW = timedelta(days=8)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--bundle", help="a recorded bundle directory (e.g. samples/broker_down)")
    group.add_argument("--prometheus", help="Prometheus base URL for live mode (e.g. http://127.0.0.1:9090)")
    parser.add_argument("--loki", help="Loki base URL (live mode)")
    parser.add_argument("--cluster", help="cluster label value (live mode; default: detected)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        help="seconds per request to Prometheus/Loki (live mode; default 15)",
    )


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", help="ISO-8601, epoch s/ms, or now-6h (default: bundle start / now-1h)"
    )
    parser.add_argument("--to", dest="end", help="ISO-8601, epoch s/ms, or now (default: bundle end / now)")


def open_source(args: argparse.Namespace) -> Source:
    if args.bundle:
        from app.sources.bundle_source import BundleSource

        try:
            return BundleSource(args.bundle)
        except BundleError as exc:
            raise UsageError(str(exc)) from None
    from app.sources.live import LiveSource

    try:
        return LiveSource(
            args.prometheus, loki_url=args.loki, cluster=args.cluster, timeout=getattr(args, "timeout", 15.0)
        )
    except ValueError as exc:  # a URL without http:// and the like
        raise UsageError(str(exc)) from None


def window_from_args(args: argparse.Namespace, source: Source) -> Window:
    try:
        window = parse_window(args.start, args.end, default=source.default_window())
    except (TimeParseError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if window.end - window.start > MAX_WINDOW:
        raise UsageError(
            f"window of {window.end - window.start} is longer than {MAX_WINDOW}; narrow --from/--to"
        )
    return window
