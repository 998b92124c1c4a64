"""`python -m app mcp`: serve the diagnosis tools to agents over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
import os

from app.cli import UsageError
from app.commands.common import open_source


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("mcp", help="MCP server for agents (stdio or streamable HTTP)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--bundle", help="serve a recorded bundle directory")
    source.add_argument("--prometheus", default=None, help="Prometheus base URL (default: $PROMETHEUS_URL)")
    parser.add_argument("--loki", default=None, help="Loki base URL (default: $LOKI_URL)")
    parser.add_argument("--cluster", help="cluster label value (live mode)")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.bundle and not args.prometheus:
        args.prometheus = os.environ.get("PROMETHEUS_URL")
        args.loki = args.loki or os.environ.get("LOKI_URL")
        if not args.prometheus:
            raise UsageError("give --bundle PATH or --prometheus URL (or set PROMETHEUS_URL)")
    from app.mcp_server import build_server

    server = build_server(open_source(args))
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)
    return 0
