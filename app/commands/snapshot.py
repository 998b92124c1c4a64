"""`python -m app snapshot`: record one window to a bundle, or append due windows to a dataset.

One window:   python -m app snapshot --prometheus URL --loki URL --from now-30m --to now --out DIR
Periodic:     python -m app snapshot --prometheus URL --dataset DIR --every 15 [--once]
              (--once records what is due and exits: the form for cron and systemd timers)
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.bundle import Manifest, write_bundle
from app.cli import UsageError
from app.commands.check import add_live_arguments, open_live
from app.commands.common import window_from_args
from app.sources.base import SourceError


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("snapshot", help="record a window to a bundle, or windows to a Parquet dataset")
    parser.add_argument("--bundle", help="read from a recorded bundle instead of live servers")
    add_live_arguments(parser)
    parser.add_argument("--from", dest="start", help="one-window mode: ISO-8601, epoch s/ms, or now-30m")
    parser.add_argument("--to", dest="end", help="one-window mode: end of the window (default now)")
    parser.add_argument("--out", help="one-window mode: bundle directory to write")
    parser.add_argument("--dataset", help="periodic mode: Parquet dataset directory to append to")
    parser.add_argument("--every", type=float, help="periodic mode: window length and interval in minutes")
    parser.add_argument("--once", action="store_true", help="periodic mode: record the due windows and exit")
    parser.add_argument(
        "--delay",
        type=float,
        default=60.0,
        help="periodic mode: seconds to wait after a window ends, for late samples (default 60)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    if bool(args.out) == bool(args.dataset):
        raise UsageError(
            "give either --out DIR (one window to a bundle) or --dataset DIR --every MIN (periodic)"
        )
    source = _open(args)
    if args.out:
        return _one_window(args, source)
    return _periodic(args, source)


def _open(args: argparse.Namespace):
    if args.bundle:
        from app.bundle import BundleError
        from app.sources.bundle_source import BundleSource

        try:
            return BundleSource(args.bundle)
        except BundleError as exc:
            raise UsageError(str(exc)) from None
    return open_live(args)


def _one_window(args: argparse.Namespace, source) -> int:
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} exists and is not empty; choose a new --out directory")
    window = window_from_args(args, source)
    try:
        metrics = source.metrics(window)
        logs = source.logs(window)
        brokers = source.brokers()
        cluster = source.cluster()
    except SourceError as exc:
        print(f"snapshot failed: {exc}", file=sys.stderr)
        return 1
    if hasattr(source, "layout"):
        profile = source.layout().profile
    else:
        profile = source.bundle.manifest.profile
    manifest = Manifest(
        cluster=cluster,
        brokers=brokers,
        window=window,
        step_seconds=metrics.step_seconds,
        profile=profile or "unknown",
        created_at=datetime.now(UTC),
        notes="; ".join(
            f"{r.source}: {r.status} {r.message}".strip() for r in [*metrics.reports, *logs.reports]
        ),
    )
    write_bundle(out, manifest, metrics.frame, logs.frame)
    print(
        f"wrote {out}: {len(metrics.frame)} metric samples, {len(logs.frame)} log lines, "
        f"window {window.start:%Y-%m-%dT%H:%M:%SZ} .. {window.end:%Y-%m-%dT%H:%M:%SZ}"
    )
    _print_reports([*metrics.reports, *logs.reports], source)
    return 0


def _periodic(args: argparse.Namespace, source) -> int:
    from app.snapshots import run_due

    if not args.every or args.every <= 0:
        raise UsageError("--dataset needs --every MIN (a positive number of minutes, e.g. 15)")
    every = timedelta(minutes=args.every)
    if every < timedelta(minutes=1):
        raise UsageError("--every must be at least 1 minute")
    delay = timedelta(seconds=max(0.0, args.delay))
    dataset = Path(args.dataset)
    while True:
        try:
            results = run_due(source, dataset, every, delay=delay)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        except SourceError as exc:
            print(f"snapshot: {exc}; will retry the same window", file=sys.stderr)
            results = []
            if args.once:
                return 1
        for result in results:
            print(
                f"{result.window.start:%Y-%m-%dT%H:%M:%SZ} .. {result.window.end:%Y-%m-%dT%H:%M:%SZ}: "
                f"{result.metric_rows} metric rows, {result.log_rows} log lines, {len(result.files)} files"
                + (f"; problems: {'; '.join(result.problems)}" if result.problems else "")
            )
        if args.once:
            if not results:
                print("nothing due yet (the next window is not complete)")
            _print_reports([], source)
            return 0
        time.sleep(_seconds_to_next(every, delay))


def _seconds_to_next(every: timedelta, delay: timedelta, now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    step = every.total_seconds()
    next_end = (now.timestamp() // step + 1) * step
    return max(1.0, next_end + delay.total_seconds() - now.timestamp())


def _print_reports(reports, source) -> None:
    for report in reports:
        if report.status in ("error", "partial"):
            print(f"warning: {report.source}: {report.status}: {report.message}", file=sys.stderr)
    if hasattr(source, "queries_sent"):
        print(
            "requests sent: " + ", ".join(f"{k} {v}" for k, v in source.queries_sent().items()),
            file=sys.stderr,
        )
