"""Detection delay and false positives of the detectors on the recorded scenario bundles.

    python bench/scenarios.py [samples/broker_down ...]   (default: every samples/* with ground_truth.json)

For each bundle: all findings with detectors' defaults and the signal library's kinds
(app.detect.detect_metrics), then
  * primary   the first reported change (score >= REPORT_THRESHOLD) on the scenario's primary
              signal(s) at or after the baseline, and its error vs `injected_at` in seconds and in
              scrape steps (target: within 2 steps);
  * first     the first reported change on any signal after the baseline, and its error;
  * false +   reported changes that start more than 2 steps before `injected_at` (the baseline is
              healthy by construction), and for `quiet` every reported finding.
The primary signals per cause are listed below (which broker: the target, the others, or any).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import detectors  # noqa: E402
from app.bundle import read_bundle  # noqa: E402
from app.detect import detect_metrics  # noqa: E402
from app.signals import load_library  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TOLERANCE_STEPS = 2

# cause -> [(signal, where)], where: "target" (the faulted broker), "others", "any"
PRIMARY: dict[str, list[tuple[str, str]]] = {
    "broker_down": [("under_replicated_partitions", "others"), ("broker_up", "target")],
    "broker_hung": [("under_replicated_partitions", "others"), ("broker_up", "target")],
    "controller_failover": [
        ("active_controller_count", "any"),
        ("raft_current_leader", "any"),
        ("raft_current_epoch", "any"),
    ],
    "consumer_stalled": [("consumer_lag_sum", "any"), ("consumer_lag_max_partition", "any")],
    "traffic_surge": [("messages_in_rate", "any"), ("bytes_in_rate", "any")],
    "gc_pressure": [("gc_count_rate", "target"), ("gc_time_fraction", "target")],
    "rebalance_storm": [
        ("consumer_group_members", "any"),
        ("consumer_lag_sum", "any"),
        ("consumer_lag_max_partition", "any"),
    ],
    "slow_follower": [
        ("follower_fetch_rate", "others"),
        ("under_replicated_partitions", "others"),
        ("isr_shrink_rate", "any"),
    ],
    "under_min_isr": [("under_min_isr_partitions", "target"), ("under_replicated_partitions", "target")],
    "log_dir_failure": [
        ("offline_partitions", "any"),
        ("under_replicated_partitions", "others"),
        ("broker_up", "target"),
    ],
}


def bundles(args: list[str]) -> list[Path]:
    """The named bundles, or every recorded one in samples/ (generated synthetic ones are skipped)."""
    if args:
        return [Path(a) for a in args]
    found = sorted(p for p in SAMPLES.iterdir() if (p / "ground_truth.json").exists())
    return [p for p in found if "generator" not in read_bundle(p).manifest.versions]


def matches(finding, signals: list[tuple[str, str]], target: str | None) -> bool:
    for signal, where in signals:
        if finding.signal != signal:
            continue
        if where == "any" or target is None:
            return True
        if where == "target" and finding.broker == target:
            return True
        if where == "others" and finding.broker != target:
            return True
    return False


def describe(finding) -> str:
    f = finding
    return (
        f"    false+: {f.signal} broker {f.broker} at {f.at:%H:%M:%S} {f.before:.3g} -> {f.after:.3g} "
        f"score {f.score:.2f}"
    )


def main() -> None:
    kinds = load_library().kinds()
    healthy = load_library().healthy_levels()  # as the pipeline: healthy signals getting healthier score down
    rows = []
    print(
        f"{'bundle':24} {'cause':20} {'step':>4} {'primary signal (broker)':38} {'err s':>7} {'steps':>6} "
        f"{'first any (err s)':34} {'false+':>6} {'ms':>6}"
    )
    for path in bundles(sys.argv[1:]):
        bundle = read_bundle(path)
        truth = bundle.ground_truth
        step = float(bundle.manifest.step_seconds)
        start = time.perf_counter()
        findings = detect_metrics(bundle.metrics, kinds=kinds, healthy=healthy)
        elapsed_ms = (time.perf_counter() - start) * 1000
        reported = sorted((f for f in findings if f.score >= detectors.REPORT_THRESHOLD), key=lambda f: f.at)
        if truth is None or truth.injected_at is None:
            print(
                f"{path.name:24} {'none':20} {step:4.0f} {'-':38} {'-':>7} {'-':>6} {'-':34} "
                f"{len(reported):6d} {elapsed_ms:6.0f}"
            )
            for f in reported:
                print(describe(f))
            rows.append((path.name, "none", None, len(reported)))
            continue
        injected = truth.injected_at
        early = injected.timestamp() - TOLERANCE_STEPS * step
        false_pos = [f for f in reported if f.at.timestamp() < early]
        candidates = [f for f in reported if f.at.timestamp() >= early]
        primary = next(
            (f for f in candidates if matches(f, PRIMARY.get(truth.cause, []), truth.broker)), None
        )
        first = candidates[0] if candidates else None
        if primary is not None:
            err = primary.at.timestamp() - injected.timestamp()
            what = f"{primary.signal} ({primary.broker})"
            err_text, steps_text = f"{err:7.1f}", f"{err / step:6.1f}"
        else:
            err, what, err_text, steps_text = None, "NOT FOUND", f"{'-':>7}", f"{'-':>6}"
        first_text = (
            "-" if first is None else f"{first.signal} ({first.at.timestamp() - injected.timestamp():+.0f})"
        )
        print(
            f"{path.name:24} {truth.cause:20} {step:4.0f} {what:38} {err_text} {steps_text} {first_text:34} "
            f"{len(false_pos):6d} {elapsed_ms:6.0f}"
        )
        for f in false_pos:
            print(describe(f))
        rows.append((path.name, truth.cause, None if err is None else err / step, len(false_pos)))
    faults = [r for r in rows if r[1] != "none"]
    scored = [r for r in faults if r[2] is not None]
    on_time = sum(abs(r[2]) <= TOLERANCE_STEPS for r in scored)
    mean_error = sum(abs(r[2]) for r in scored) / max(1, len(scored))
    quiet = [r for r in rows if r[1] == "none"]
    print(
        f"\nprimary change within {TOLERANCE_STEPS} steps of injected_at: {on_time}/{len(faults)} faults "
        f"(found at all: {len(scored)}); mean |error| {mean_error:.2f} steps; "
        f"reported changes before the fault: {sum(r[3] for r in faults)}; "
        f"reported findings on quiet bundles: {sum(r[3] for r in quiet)} ({len(quiet)} bundles)"
    )


if __name__ == "__main__":
    main()
