"""The done-when check over every recorded bundle in samples/: the CLI ranks the ground-truth cause
first, names the right broker, starts within 2 scrape steps of the injection; quiet stays quiet.

Also: every cited evidence id exists, and every verification query returns data on the bundle's
window (PromQL: a query the bundle was recorded with, or that query narrowed to a broker that has
samples; LogQL: evaluated on the bundle's own log lines with a small matcher/line-filter evaluator).

Run as a script to print the scoreboard: `python -m tests.unit.test_scenarios`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from app.bundle import GroundTruth, read_bundle
from app.cli import main
from app.correlate.queries import promql
from app.model import Incident

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
BUNDLES = sorted(p.parent for p in SAMPLES.glob("*/ground_truth.json"))


def diagnose(bundle: Path, capsys) -> Incident:
    assert main(["diagnose", "--bundle", str(bundle), "--format", "json"]) == 0
    return Incident.from_json(capsys.readouterr().out)


def truth_of(bundle: Path) -> GroundTruth:
    return GroundTruth.from_dict(json.loads((bundle / "ground_truth.json").read_text()))


def score(bundle: Path, incident: Incident) -> dict:
    """One scoreboard row: what the truth was, what we said, and whether it passes."""
    truth = truth_of(bundle)
    step = read_bundle(bundle).manifest.step_seconds
    quiet_truth = truth.cause in ("none", "quiet")
    top = incident.hypotheses[0] if incident.hypotheses else None
    second = incident.hypotheses[1].confidence if len(incident.hypotheses) > 1 else 0.0
    error = None
    if incident.started_at and truth.injected_at:
        error = (incident.started_at - truth.injected_at).total_seconds()
    if quiet_truth:
        ok = incident.status == "quiet"
    else:
        ok = (
            top is not None
            and top.cause == truth.cause
            and (truth.broker is None or truth.broker in top.brokers)
            and error is not None
            and abs(error) <= 2 * step
        )
    return {
        "bundle": bundle.name,
        "truth": f"{truth.cause}@{truth.broker}",
        "said": f"{top.cause}@{','.join(top.brokers)}" if top else incident.status,
        "confidence": top.confidence if top else None,
        "margin": round(top.confidence - second, 3) if top else None,
        "timing_error_s": error,
        "steps": step,
        "ok": ok,
    }


@pytest.mark.skipif(not BUNDLES, reason="no recorded bundles in samples/")
@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.name for b in BUNDLES])
def test_diagnosis_matches_ground_truth(bundle, capsys):
    incident = diagnose(bundle, capsys)
    row = score(bundle, incident)
    assert row["ok"], row


@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.name for b in BUNDLES])
def test_evidence_exists_and_verification_returns_data(bundle, capsys):
    incident = diagnose(bundle, capsys)
    data = read_bundle(bundle)
    ids = {e.id for e in incident.evidence}
    returns = _promql_with_data(data, incident.cluster)
    for h in incident.hypotheses:
        assert h.evidence and set(h.evidence) <= ids, h.cause
        assert h.verification, h.cause
        for query in h.verification:
            if query.startswith("{"):
                assert _logql_hits(query, data.logs) > 0, (h.cause, query)
            else:
                assert query in returns, (h.cause, query)


def _promql_with_data(data, cluster: str) -> set[str]:
    """Queries known to return data: as recorded, or narrowed to a broker with samples."""
    metrics = data.metrics
    available = dict(zip(metrics["signal"].astype(str), metrics["query"].astype(str), strict=False))
    out = set(available.values())
    for (signal, broker), _ in metrics.dropna(subset=["broker"]).groupby(["signal", "broker"]):
        out.add(promql(str(signal), str(broker), cluster, available))
    return out


_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_FILTER = re.compile(r'\s*(\|=|\|~|!=|!~)\s*"((?:[^"\\]|\\.)*)"')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _logql_hits(query: str, logs) -> int:
    """Count bundle lines a `{matchers} |~ "..."` LogQL query selects (stream labels from the bundle)."""
    close = query.index("}")
    matchers = _MATCHER.findall(query[1:close])
    filters = _FILTER.findall(query[close + 1 :])
    hits = 0
    for labels_text, line, broker in zip(logs["labels"], logs["line"], logs["broker"], strict=True):
        labels = json.loads(labels_text) if labels_text else {}
        labels.setdefault("broker", broker)
        if all(_label_ok(labels.get(k), op, _unescape(v)) for k, op, v in matchers) and all(
            _line_ok(line, op, _unescape(v)) for op, v in filters
        ):
            hits += 1
    return hits


def _label_ok(value, op: str, want: str) -> bool:
    value = "" if value is None else str(value)
    if op == "=":
        return value == want
    if op == "!=":
        return value != want
    full = re.fullmatch(want, value) is not None
    return full if op == "=~" else not full


def _line_ok(line: str, op: str, want: str) -> bool:
    if op in ("|=", "!="):
        return (want in line) == (op == "|=")
    return (re.search(want, line) is not None) == (op == "|~")


if __name__ == "__main__":  # the scoreboard for the issue note
    import contextlib
    import io

    class _Capture:
        def readouterr(self):
            return type("R", (), {"out": buffer.getvalue()})()

    print(f"{'bundle':28s} {'truth':26s} {'said':28s} {'conf':>5s} {'margin':>6s} {'t_err_s':>8s}  ok")
    for bundle in BUNDLES:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            main(["diagnose", "--bundle", str(bundle), "--format", "json"])
        row = score(bundle, Incident.from_json(buffer.getvalue()))
        conf = "" if row["confidence"] is None else f"{row['confidence']:.2f}"
        margin = "" if row["margin"] is None else f"{row['margin']:.2f}"
        err = "" if row["timing_error_s"] is None else f"{row['timing_error_s']:+.1f}"
        print(
            f"{row['bundle']:28s} {row['truth']:26s} {row['said']:28s} {conf:>5s} {margin:>6s} {err:>8s}  "
            f"{'yes' if row['ok'] else 'NO'}"
        )
    sys.exit(0)
