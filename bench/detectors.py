"""Speed of detectors.change_points against ruptures' own Pelt (L2), measured in the same run.

    python bench/detectors.py

Prints ms per series and points per second for series of n = 1440 .. 40,320 points (15 s
scrapes: 6 h .. one week) with a few steps in them, the growth ratio time(4n) / time(n)
(near-linear means <= 4.5), and the baseline: ruptures.Pelt(model="l2") with the same
penalty on the sizes it can finish in reasonable time (it is quadratic without changes to
prune on, so it runs on the smaller sizes only and its time for the larger ones is
extrapolated from its measured growth, marked as such).
Targets (issue 5): 40,320 points <= 50 ms per series; growth <= 4.5. The defaults run the
"trend" kind (piecewise-linear, detectors/trend.py); the mean-shift "gauge" path that the
Kafka signals use is timed too.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import ruptures as rpt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import detectors  # noqa: E402

SIZES = [1440, 5760, 10080, 23040, 40320]
GROWTH_PAIRS = [(1440, 5760), (5760, 23040), (10080, 40320)]
BASELINE_SIZES = [360, 1440]


def signal(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 1.0, n)
    for at in (n // 5, n // 2, 4 * n // 5):
        values[at:] += rng.choice([-3.0, 3.0])
    index = pd.date_range("2026-11-01", periods=n, freq="15s", tz="UTC")
    return pd.Series(values, index=index)


def best_ms(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main() -> None:
    ours: dict[int, float] = {}
    print(f"{'n':>7} {'ours ms':>9} {'ours pts/s':>12} {'found':>6}")
    for n in SIZES:
        series = signal(n)
        detectors.change_points(series)  # warm caches and imports
        ours[n] = best_ms(lambda s=series: detectors.change_points(s), repeat=7)
        found = len(detectors.change_points(series))
        print(f"{n:7d} {ours[n]:9.2f} {n / ours[n] * 1000:12,.0f} {found:6d}")
    for small, big in GROWTH_PAIRS:
        print(
            f"growth time({big})/time({small}) = {ours[big] / ours[small]:.2f} (n x{big // small}, defaults)"
        )
    # The default kind is "trend" (piecewise-linear); Kafka signals run the mean-shift kinds.
    gauge: dict[int, float] = {}
    for n in (1440, 5760, 40320):
        series = signal(n)
        gauge[n] = best_ms(lambda s=series: detectors.change_points(s, kind="gauge"), repeat=7)
        found = len(detectors.change_points(series, kind="gauge"))
        print(f"{n:7d} {gauge[n]:9.2f} ms  kind='gauge' (mean-shift path), found {found}")
    print(f"growth time(5760)/time(1440), kind='gauge': {gauge[5760] / gauge[1440]:.2f}")
    # Windows of two days or more also run the seasonal step (STL), so the default timings
    # jump once between 10,080 (42 h) and 23,040 points (4 days). Growth within one regime:
    for label, keywords in (
        ("seasonal step off", {"seasonal": False}),
        ("STL on both (period 6 h)", {"period": 21600.0}),
    ):
        timed = {}
        for n in (10080, 40320):
            series = signal(n)
            timed[n] = best_ms(lambda s=series, k=keywords: detectors.change_points(s, **k), repeat=7)
        print(
            f"growth time(40320)/time(10080), {label}: {timed[40320] / timed[10080]:.2f} "
            f"({timed[10080]:.2f} -> {timed[40320]:.2f} ms)"
        )

    print("\nbaseline: ruptures.Pelt(model='l2', min_size=3), penalty 3 * sigma^2 * log n, same signals")
    pelt: dict[int, float] = {}
    for n in BASELINE_SIZES:
        values = signal(n).to_numpy()
        sigma2 = statistics.pvariance(np.diff(values)) / 2
        pen = 3 * sigma2 * np.log(n)
        pelt[n] = best_ms(
            lambda v=values, p=pen: rpt.Pelt(model="l2", min_size=3).fit(v).predict(pen=p), repeat=2
        )
        theirs = rpt.Pelt(model="l2", min_size=3).fit(values).predict(pen=pen)[:-1]
        series = signal(n)
        mine = [cp.position for cp in detectors.change_points(series)]
        ours_ms = best_ms(lambda s=series: detectors.change_points(s), 5)
        print(f"{n:7d} pelt {pelt[n]:9.1f} ms   ours {ours_ms:7.2f} ms   breaks pelt {theirs} ours {mine}")
    growth = pelt[BASELINE_SIZES[1]] / pelt[BASELINE_SIZES[0]]
    steps = np.log(40320 / BASELINE_SIZES[1]) / np.log(4)
    extrapolated = pelt[BASELINE_SIZES[1]] * growth**steps
    print(
        f"pelt growth per 4x: {growth:.2f}; extrapolated to 40,320 points: {extrapolated / 1000:.1f} s "
        "(not run)"
    )
    print(
        f"\nours at 5,760 points (24 h at 15 s): {ours[5760]:.2f} ms; "
        f"at 40,320 (one week): {ours[40320]:.2f} ms "
        f"({'meets' if ours[40320] <= 50 else 'MISSES'} the 50 ms target); "
        f"speed-up over Pelt at 1,440 points: x{pelt[1440] / ours[1440]:.0f}"
    )


def bundle_timing() -> None:
    """The pipeline's detect stage on each recorded bundle: every series of the window."""
    from app.bundle import read_bundle
    from app.detect import detect_metrics, series_groups
    from app.signals import load_library

    samples = Path(__file__).resolve().parents[1] / "samples"
    kinds = load_library().kinds()
    for path in sorted(p for p in samples.iterdir() if (p / "manifest.json").exists()):
        metrics = read_bundle(path).metrics
        count = sum(1 for _ in series_groups(metrics))
        elapsed = best_ms(lambda m=metrics: detect_metrics(m, kinds=kinds), repeat=3)
        print(
            f"bundle {path.name:24} {count:4d} series {len(metrics):7d} points  detect {elapsed:7.1f} ms "
            f"({elapsed / max(1, count):.2f} ms per series)"
        )


if __name__ == "__main__":
    main()
    print()
    bundle_timing()
