"""Cost of one live pull: requests sent and wall time, parallel against sequential, same run.

    python bench/sources.py --prometheus URL [--loki URL] [--window 1h] [--repeat 3]

Against a running Prometheus (e.g. `python -m stack up`), pulls every library signal over the
window once with the source's default 4 workers and once with 1 (the baseline: one request after
the other), `--repeat` times each, and prints requests per pull, the median seconds of each, and
the ratio sequential / parallel. With --loki, also the lines, pages and seconds of the log pull.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pandas as pd  # noqa: E402

from app.model import Window  # noqa: E402
from app.sources.live import LiveSource  # noqa: E402
from app.sources.prometheus import fetch_metrics  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--loki")
    parser.add_argument("--window", default="1h", help="pandas Timedelta string (default 1h)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    source = LiveSource(args.prometheus, loki_url=args.loki)
    layout = source.layout()
    detect_requests = source.queries_sent()["prometheus"]
    now = datetime.now(UTC)
    window = Window(now - pd.Timedelta(args.window).to_pytimedelta(), now)
    timings: dict[int, list[float]] = {4: [], 1: []}
    per_pull = rows = 0
    for _ in range(args.repeat):
        for workers in (4, 1):
            before = source.prometheus.queries_sent
            started = time.perf_counter()
            result = fetch_metrics(source.prometheus, source.library, layout, window, workers=workers)
            timings[workers].append(time.perf_counter() - started)
            per_pull = source.prometheus.queries_sent - before
            rows = len(result.frame)
    parallel, sequential = statistics.median(timings[4]), statistics.median(timings[1])
    out = {
        "profile": layout.profile,
        "window": args.window,
        "step_seconds": result.step_seconds,
        "detect_requests": detect_requests,
        "requests_per_metrics_pull": per_pull,
        "samples": rows,
        "parallel_s": round(parallel, 3),
        "sequential_s": round(sequential, 3),
        "speedup": round(sequential / parallel, 2),
    }
    print(f"profile {layout.profile}: detection {detect_requests} requests (once per source)")
    step = result.step_seconds
    ratio = sequential / parallel
    print(f"metrics pull over {args.window}: {per_pull} requests, {rows} samples, step {step:g}s")
    print(f"  4 workers {parallel:.3f}s, 1 worker (baseline) {sequential:.3f}s, ratio {ratio:.2f}x")
    if args.loki:
        before = source.loki.queries_sent
        started = time.perf_counter()
        logs = source.logs(window)
        out.update(
            log_lines=len(logs.frame),
            loki_requests=source.loki.queries_sent - before,
            logs_s=round(time.perf_counter() - started, 3),
        )
        print(f"logs pull: {out['log_lines']} lines in {out['loki_requests']} requests, {out['logs_s']}s")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
