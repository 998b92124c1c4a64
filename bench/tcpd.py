"""Score detectors.change_points (defaults) on TCPD with TCPDBench's own F1 and cover.

    python bench/tcpd.py              # our defaults vs the published Default / Oracle scores
    python bench/tcpd.py --per-series # plus one line per series
    python bench/tcpd.py --loo        # leave-one-out choice of the free parameters (honest tuning figure)

Data, annotations and published per-series scores: /work/shared/datasets/tcpd (see its
README for the metric definitions implemented below). The 25 univariate series without the
synthetic quality_control_* and uk_coal_employ are scored; inputs are standardised first.
Every change point returned counts (no score filter). The defaults run the "trend" kind
(piecewise-linear, detectors/trend.py); `--loo` also offers the mean-shift gauge path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import detectors  # noqa: E402
from detectors import changes, trend  # noqa: E402

TCPD = Path(os.environ.get("TCPD_DIR", "/work/shared/datasets/tcpd"))
MARGIN = 5
EXCLUDED = {"uk_coal_employ"}
PUBLISHED = ["binseg", "pelt", "amoc", "bocpd", "segneigh", "wbs", "kcpa", "prophet", "zero"]


# ---- TCPDBench metrics (definitions in the dataset README) -------------------------------
def true_positives(truth: set[int], predicted: set[int], margin: int = MARGIN) -> set[int]:
    """Each annotated point matches the closest unused prediction within the margin."""
    unused = set(predicted)
    hits = set()
    for tau in sorted(truth):
        close = sorted((abs(tau - x), x) for x in unused if abs(tau - x) <= margin)
        if close:
            hits.add(tau)
            unused.remove(close[0][1])
    return hits


def f_measure(annotations: dict[str, list[int]], predictions: list[int], margin: int = MARGIN) -> float:
    sets = [set(a) | {0} for a in annotations.values()]
    predicted = set(predictions) | {0}
    union = set().union(*sets)
    precision = len(true_positives(union, predicted, margin)) / len(predicted)
    recall = sum(len(true_positives(s, predicted, margin)) / len(s) for s in sets) / len(sets)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def partition(locations: set[int], n: int) -> list[set[int]]:
    edges = sorted({0, *[x for x in locations if 0 < x < n]}) + [n]
    return [set(range(a, b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def cover_single(truth: list[set[int]], predicted: list[set[int]], n: int) -> float:
    total = 0.0
    for segment in truth:
        total += len(segment) * max(len(segment & p) / len(segment | p) for p in predicted)
    return total / n


def covering(annotations: dict[str, list[int]], predictions: list[int], n: int) -> float:
    predicted = partition(set(predictions) | {0}, n)
    scores = [cover_single(partition(set(a) | {0}, n), predicted, n) for a in annotations.values()]
    return sum(scores) / len(scores)


def clean_predictions(locations: list[int], n: int) -> list[int]:
    return sorted({int(x) for x in locations if 1 <= x <= n - 2})


def self_check() -> None:
    """The worked examples from the README; a wrong metric would make every figure wrong."""
    cases = [
        (f_measure({"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}, [10, 20]), 1.0),
        (f_measure({"1": [], "2": [10], "3": [50]}, [10]), 0.9091),
        (f_measure({"1": [], "2": [10], "3": [50]}, []), 0.8),
        (covering({"1": [10, 20], "2": [10], "3": [0, 5]}, [10, 20], 45), 0.7963),
        (covering({"1": [], "2": [10], "3": [40]}, [10], 45), 0.7954),
        (covering({"1": [], "2": [10], "3": [40]}, [], 45), 0.8189),
    ]
    for got, want in cases:
        if abs(got - want) > 5e-5:
            raise SystemExit(f"metric self-check failed: got {got:.4f}, README says {want}")


# ---- data --------------------------------------------------------------------------------
def load() -> list[tuple[str, np.ndarray, dict[str, list[int]]]]:
    annotations = json.loads((TCPD / "annotations.json").read_text())
    out = []
    for path in sorted((TCPD / "datasets").glob("*/*.json")):
        data = json.loads(path.read_text())
        name = data["name"]
        if name.startswith("quality_control") or name in EXCLUDED or data["n_dim"] != 1:
            continue
        values = np.array([np.nan if v is None else v for v in data["series"][0]["raw"]], dtype=float)
        values = (values - np.nanmean(values)) / np.nanstd(values)
        out.append((name, values, annotations[name]))
    return out


def published() -> dict[str, dict[str, dict[str, float | None]]]:
    folder = TCPD / "tcpdbench_scores"
    return {f.stem.replace("_scores", ""): json.loads(f.read_text()) for f in folder.glob("*_scores.json")}


def published_mean(scores: dict[str, dict[str, float | None]], names: list[str], method: str) -> float:
    return float(np.mean([scores[n].get(method) or 0.0 for n in names]))  # failures count 0


def evaluate(
    data, blocks=None, outliers=None, cycle=None, passes=None, **keywords
) -> list[tuple[str, float, float, int, float]]:
    """Score change_points(**keywords) per series; `blocks`, `outliers`, `cycle` and `passes`
    override the trend path's module constants (trend.SCALE_BLOCKS, changes.OUTLIER_NOISE_TREND,
    trend.CYCLE_ACF (above 1 turns cycle detection off), changes.TREND_PASSES) for --loo."""
    saved = (trend.SCALE_BLOCKS, changes.OUTLIER_NOISE_TREND, trend.CYCLE_ACF, changes.TREND_PASSES)
    if blocks is not None:
        trend.SCALE_BLOCKS = blocks
    if outliers is not None:
        changes.OUTLIER_NOISE_TREND = outliers
    if cycle is not None:
        trend.CYCLE_ACF = cycle
    if passes is not None:
        changes.TREND_PASSES = passes
    try:
        return _evaluate(data, **keywords)
    finally:
        trend.SCALE_BLOCKS, changes.OUTLIER_NOISE_TREND, trend.CYCLE_ACF, changes.TREND_PASSES = saved


def _evaluate(data, **keywords) -> list[tuple[str, float, float, int, float]]:
    rows = []
    for name, values, truth in data:
        start = time.perf_counter()
        found = detectors.change_points(pd.Series(values), **keywords)
        elapsed = time.perf_counter() - start
        predictions = clean_predictions([cp.at for cp in found], len(values))
        rows.append(
            (
                name,
                f_measure(truth, predictions),
                covering(truth, predictions, len(values)),
                len(predictions),
                elapsed,
            )
        )
    return rows


def leave_one_out(data, grid: list[dict]) -> tuple[float, float, list[str]]:
    """Choose the keywords on 24 series (best mean F1 + cover), score the 25th; repeat."""
    table = [evaluate(data, **keywords) for keywords in grid]
    f1s, covers, chosen = [], [], []
    for i in range(len(data)):

        def train(g: int, held_out: int = i) -> float:
            return float(np.mean([r[1] + r[2] for j, r in enumerate(table[g]) if j != held_out]))

        best = max(range(len(grid)), key=train)
        chosen.append(str(grid[best]))
        f1s.append(table[best][i][1])
        covers.append(table[best][i][2])
    for keywords, rows in zip(grid, table, strict=True):
        print(
            f"  {keywords}: F1 {np.mean([r[1] for r in rows]):.3f}  cover {np.mean([r[2] for r in rows]):.3f}"
        )
    return float(np.mean(f1s)), float(np.mean(covers)), chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-series", action="store_true")
    parser.add_argument("--loo", action="store_true", help="leave-one-out penalty choice over a grid")
    args = parser.parse_args()
    self_check()
    data = load()
    names = [d[0] for d in data]
    rows = evaluate(data)
    f1 = float(np.mean([r[1] for r in rows]))
    cover = float(np.mean([r[2] for r in rows]))
    if args.per_series:
        print(f"{'series':22} {'n':>5} {'F1':>6} {'cover':>6} {'#cp':>4}  binseg F1/cover")
        pub = published()
        for (name, values, _), r in zip(data, rows, strict=True):
            print(
                f"{name:22} {len(values):5d} {r[1]:6.3f} {r[2]:6.3f} {r[3]:4d}  "
                f"{pub['default_f1'][name].get('binseg') or 0:.3f}/"
                f"{pub['default_cover'][name].get('binseg') or 0:.3f}"
            )
    pub = published()
    print(f"TCPD, {len(names)} univariate series, margin {MARGIN}, standardised input, failures count 0")
    print(f"{'method':28} {'cover':>6} {'F1':>6}")
    total_ms = sum(r[4] for r in rows) * 1000
    print(f"{'ours (defaults)':28} {cover:6.3f} {f1:6.3f}   total {total_ms:.1f} ms")
    for method in PUBLISHED:
        label = method + " (published Default)"
        default_cover = published_mean(pub["default_cover"], names, method)
        print(f"{label:28} {default_cover:6.3f} {published_mean(pub['default_f1'], names, method):6.3f}")
    for method in ("binseg", "pelt", "bocpd"):
        print(
            f"{method + ' (published Oracle)':28} {published_mean(pub['oracle_cover'], names, method):6.3f} "
            f"{published_mean(pub['oracle_f1'], names, method):6.3f}"
        )
    zero_f1 = float(np.mean([f_measure(a, []) for _, _, a in data]))
    zero_cover = float(np.mean([covering(a, [], len(v)) for _, v, a in data]))
    print(
        f"{'zero, our metric code':28} {zero_cover:6.3f} {zero_f1:6.3f}   (must equal the published zero row)"
    )
    best_f1 = max(published_mean(pub["default_f1"], names, m) for m in PUBLISHED if m != "zero")
    best_cover = max(published_mean(pub["default_cover"], names, m) for m in PUBLISHED if m != "zero")
    print(
        f"vs best published Default: F1 {f1 - best_f1:+.3f}, cover {cover - best_cover:+.3f} "
        f"({'better' if f1 > best_f1 and cover > best_cover else 'NOT better on both'}); "
        f"target F1 >= 0.80 and cover >= 0.72: {'met' if f1 >= 0.80 and cover >= 0.72 else 'NOT met'}"
    )
    if args.loo:
        # Every free choice of the default (trend) path: penalty, the block lengths of its
        # noise scale, the outlier limit, the cycle threshold (2.0 = no cycle detection), one
        # or two passes, and the mean-shift (gauge) path as an alternative.
        grid = [
            {"penalty": p, "blocks": b, "outliers": o, "cycle": c, "passes": k}
            for p in (2.0, 2.5, 3.0, 3.5, 4.0)
            for b in ((1,), (1, 2, 4), (1, 2, 4, 8, 16))
            for o in (5.0, 16.0)
            for c in (0.25, 2.0)
            for k in (1, 2)
        ] + [{"kind": "gauge", "penalty": p, "min_jump": j} for p in (2.0, 3.0, 4.0) for j in (0.5, 0.7)]
        loo_f1, loo_cover, chosen = leave_one_out(data, grid)
        print(
            f"leave-one-out choice of the default's free parameters: F1 {loo_f1:.3f}  cover {loo_cover:.3f}  "
            f"(chosen: {sorted(set(chosen))})"
        )


if __name__ == "__main__":
    main()
