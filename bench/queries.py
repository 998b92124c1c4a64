"""Queries sent to Prometheus and Loki for one live diagnosis, counted on the wire.

A counting proxy (tests/delay_proxy.FaultProxy, a real HTTP proxy) sits in front of each server,
and one diagnosis runs through the service layer (what the UI and the MCP tools call). The
target: one range query per library signal across all brokers, plus Loki pages
(ceil((lines + 1) / page limit), plus up to 5% for entries re-read at page boundaries, since
Loki has no cursor) and the one-time layout detection
(Prometheus: metric names, a series probe, targets; Loki: label names).

    python bench/queries.py                      # the running local stack (python -m stack up)
    python bench/queries.py --prometheus URL --loki URL --from now-30m
    python bench/queries.py --page-limit 500     # also show paging on a window with few lines

The last line is JSON: {"prometheus": N, "loki": M, "target_prometheus": ..., "target_loki": ..., "ok": bool}.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import service  # noqa: E402
from app.sources.live import LiveSource  # noqa: E402
from tests.delay_proxy import FaultProxy  # noqa: E402

DETECT_PROMETHEUS = {"/api/v1/label/__name__/values", "/api/v1/series", "/api/v1/targets"}
DETECT_LOKI = {"/loki/api/v1/labels"}
BOUNDARY_OVERLAP = 0.05


def run(prometheus: str, loki: str, start: str, end: str, page_limit: int | None) -> dict:
    with FaultProxy(prometheus) as prom_proxy, FaultProxy(loki) as loki_proxy:
        source = LiveSource(prom_proxy.url, loki_url=loki_proxy.url)
        if page_limit:
            source.loki.page_limit = page_limit
        t0 = time.perf_counter()
        diagnosis = service.diagnose_window(source, start, end)
        elapsed = time.perf_counter() - t0
        prom_counts, loki_counts = dict(prom_proxy.counts), dict(loki_proxy.counts)
    signals = int(diagnosis.metrics["signal"].nunique()) if not diagnosis.metrics.empty else 0
    asked = len(source.library.in_profile(source.layout().profile))
    lines = len(diagnosis.logs)
    limit = source.loki.page_limit
    pages = math.ceil((lines + 1) / limit)  # the least any pager can do: full pages, then one short one
    target_prom = asked + sum(prom_counts.get(p, 0) for p in DETECT_PROMETHEUS)
    # Loki has no cursor: a page starts at the previous page's last timestamp, so entries sharing it
    # are read twice. Allow that boundary overlap (5% of the pages), nothing more.
    target_loki = math.ceil(pages * (1 + BOUNDARY_OVERLAP)) + sum(loki_counts.get(p, 0) for p in DETECT_LOKI)
    return {
        "window": {"from": start, "to": end},
        "brokers": source.brokers(),
        "signals_in_profile": asked,
        "signals_with_data": signals,
        "log_lines": lines,
        "page_limit": limit,
        "seconds": round(elapsed, 2),
        "prometheus_by_path": prom_counts,
        "loki_by_path": loki_counts,
        "prometheus": sum(prom_counts.values()),
        "loki": sum(loki_counts.values()),
        "client_counted": source.queries_sent(),
        "target_prometheus": target_prom,
        "target_loki": target_loki,
        "range_queries": prom_counts.get("/api/v1/query_range", 0),
        "log_pages": loki_counts.get("/loki/api/v1/query_range", 0),
        "expected_pages": pages,
    }


def _detect_counts(by_path: dict[str, int]) -> str:
    return ", ".join(f"{p} {n}" for p, n in sorted(by_path.items()) if p in DETECT_PROMETHEUS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", help="default: the running local stack's")
    parser.add_argument("--loki", help="default: the running local stack's")
    parser.add_argument("--from", dest="start", default="now-30m")
    parser.add_argument("--to", dest="end", default="now")
    parser.add_argument(
        "--page-limit",
        type=int,
        action="append",
        help="Loki entries per page (repeat to compare; default Loki's 5000)",
    )
    args = parser.parse_args(argv)
    prometheus, loki = args.prometheus, args.loki
    if not (prometheus and loki):
        from stack import Stack

        stack = Stack.attach()
        prometheus, loki = prometheus or stack.prometheus_url, loki or stack.loki_url
    results = [run(prometheus, loki, args.start, args.end, limit) for limit in (args.page_limit or [None])]
    ok = True
    for r in results:
        print(
            f"window {r['window']['from']} .. {r['window']['to']}, brokers {', '.join(r['brokers'])}, "
            f"{r['seconds']} s"
        )
        print(
            f"  Prometheus: {r['prometheus']} requests = {r['range_queries']} range queries for "
            f"{r['signals_in_profile']} signals (one per signal, all brokers at once; "
            f"{r['signals_with_data']} "
            f"had data) + {r['prometheus'] - r['range_queries']} layout detection "
            f"({_detect_counts(r['prometheus_by_path'])})"
        )
        print(
            f"  Loki:       {r['loki']} requests = {r['log_pages']} log pages for {r['log_lines']} lines at "
            f"{r['page_limit']} per page (least possible {r['expected_pages']}; "
            "the rest re-read entries sharing "
            f"a page's last timestamp) + {r['loki'] - r['log_pages']} label detection"
        )
        print(
            f"  target      Prometheus {r['target_prometheus']}, Loki {r['target_loki']}; client counters "
            f"{r['client_counted']}"
        )
        within = r["prometheus"] <= r["target_prometheus"] and r["loki"] <= r["target_loki"]
        print("  " + ("OK: at the target" if within else "OVER the target"))
        ok &= within
    last = results[-1]
    print(
        json.dumps(
            {
                "prometheus": last["prometheus"],
                "loki": last["loki"],
                "target_prometheus": last["target_prometheus"],
                "target_loki": last["target_loki"],
                "range_queries": last["range_queries"],
                "signals": last["signals_in_profile"],
                "log_pages": last["log_pages"],
                "log_lines": last["log_lines"],
                "ok": ok,
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
