"""`python -m app check`: can we reach the servers, and what do they call things?"""

from __future__ import annotations

import argparse
import json
import os
import sys

from app.cli import UsageError
from app.sources.base import SourceError


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("check", help="connection check: profile, brokers, versions, Loki labels, Kafka")
    add_live_arguments(parser)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    return parser


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prometheus", help="Prometheus base URL (default: $PROMETHEUS_URL)")
    parser.add_argument("--loki", help="Loki base URL (default: $LOKI_URL)")
    parser.add_argument(
        "--kafka", help="Kafka bootstrap servers host:port,... (default: $KAFKA_BOOTSTRAP_SERVERS)"
    )
    parser.add_argument("--cluster", help="cluster label value (default: detected)")
    parser.add_argument(
        "--profile", help="metric-naming profile: jmx_kafka, strimzi, jmx_raw (default: detected)"
    )
    parser.add_argument("--broker-label", help="label carrying the broker id (default: detected)")
    parser.add_argument(
        "--instance-map",
        help="series without a broker label: BROKER=INSTANCE,... (default: $LENS_INSTANCE_MAP or detected)",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request (default 15)")


def open_live(args: argparse.Namespace):
    from app.sources.live import LiveSource

    prometheus = args.prometheus or os.environ.get("PROMETHEUS_URL")
    if not prometheus:
        raise UsageError("give --prometheus URL (or set PROMETHEUS_URL)")
    try:
        return LiveSource(
            prometheus,
            loki_url=args.loki or os.environ.get("LOKI_URL"),
            cluster=args.cluster,
            bootstrap_servers=getattr(args, "kafka", None) or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            profile=args.profile,
            broker_label=args.broker_label,
            instance_map=args.instance_map,
            timeout=args.timeout,
        )
    except (KeyError, ValueError) as exc:
        raise UsageError(str(exc).strip("'\"")) from None


def run(args: argparse.Namespace) -> int:
    source = open_live(args)
    try:
        found = source.describe()
    except SourceError as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 1
    found["queries_sent"] = source.queries_sent()
    if args.format == "json":
        print(json.dumps(found, indent=2))
    else:
        print(render_text(found))
    if "error" in found.get("kafka", {}):
        print(f"check failed: {found['kafka']['error']}", file=sys.stderr)
        return 1
    return 0


def render_text(found: dict) -> str:
    prom = found["prometheus"]
    lines = [
        f"Prometheus {prom['url']} (version {prom['version']}): OK",
        f"  profile        {prom['profile']}  (coverage "
        + ", ".join(f"{k} {v:.0%}" for k, v in prom["profile_coverage"].items())
        + ")"
        if prom["profile_coverage"]
        else f"  profile        {prom['profile']} (given)",
        f"  cluster        {prom['cluster'] or '-'} (label {prom['cluster_label'] or 'none'})",
        f"  brokers        {', '.join(prom['brokers']) or 'none found'} (label {prom['broker_label']})",
        f"  scrape every   {prom['scrape_interval_seconds']:g} s; "
        f"{prom['signals']} library signals in this profile",
    ]
    if "loki" in found:
        loki = found["loki"]
        lines += [
            f"Loki {loki['url']} (version {loki.get('version', 'unknown')}): OK",
            f"  labels         {', '.join(loki['labels']) or 'none (no logs in the last 7 days?)'}",
            f"  brokers        {', '.join(loki['brokers']) or 'none found'} (label {loki['broker_label']})",
        ]
    else:
        lines.append("Loki: not configured (--loki or LOKI_URL); diagnoses will have no log evidence")
    if "error" in found.get("kafka", {}):
        lines.append(f"Kafka {found['kafka']['bootstrap']}: FAILED: {found['kafka']['error']}")
    elif "kafka" in found:
        kafka = found["kafka"]
        lines += [
            f"Kafka {kafka['bootstrap']} (version {kafka.get('version') or 'unknown'}): OK, "
            f"cluster id {kafka['cluster_id']}",
            f"  brokers        {', '.join(kafka['brokers'])}; controller {kafka['controller']}",
            f"  partitions     {kafka['partitions']} ({kafka['under_replicated']} under-replicated, "
            f"{kafka['offline']} offline)",
        ]
    lines.append("requests sent: " + ", ".join(f"{k} {v}" for k, v in found.get("queries_sent", {}).items()))
    return "\n".join(lines)
