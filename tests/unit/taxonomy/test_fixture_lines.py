"""Real Kafka 4.3.1 lines (local stack) and lines quoted in the notes get the expected class and entities."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from app import taxonomy
from app.model import LogEvent

from .conftest import FIXTURES, read_lines

_LABELS = __import__("yaml").safe_load((FIXTURES / "labels.yaml").read_text(encoding="utf-8"))
_QUOTED = [
    json.loads(x) for x in (FIXTURES / "notes-quoted.jsonl").read_text(encoding="utf-8").splitlines() if x
]


def _event_for(label: dict) -> LogEvent:
    lines = read_lines(label["file"])
    hits = [i for i, line in enumerate(lines) if label["find"] in line]
    assert len(hits) == 1, f"{label['find']!r} picks {len(hits)} lines in {label['file']}"
    # per-line labels with record context, as the classes note defines them
    return taxonomy.classify_many(lines)[hits[0]]


@pytest.mark.parametrize("label", _LABELS, ids=lambda x: f"{x['class']}:{x['find'][:40]}")
def test_real_line(label: dict) -> None:
    event = _event_for(label)
    assert event.event_class == label["class"], event.line
    for key, want in label.items():
        if key in ("file", "find", "class"):
            continue
        assert getattr(event, key) == want, f"{key}: {getattr(event, key)!r} != {want!r} in {event.line}"


@pytest.mark.parametrize("row", _QUOTED, ids=lambda r: f"{r['class']}:{r['layout']}:{r['kafka']}")
def test_notes_quoted_line(row: dict) -> None:
    event = taxonomy.classify(row["line"])
    assert event.event_class == row["class"], row["line"]
    for key, want in row["expect"].items():
        assert getattr(event, key) == want, f"{key}: {getattr(event, key)!r} != {want!r} in {row['line']}"


def test_real_kafka_files_have_no_unknown_lines() -> None:
    """Every line Kafka itself wrote in the fixtures is classified (stdout of foreign agents aside)."""
    files = [p for p in glob.glob(str(FIXTURES / "kafka-4.3.1" / "*.log"))]
    assert files
    for path in files:
        events = taxonomy.classify_many(Path(path).read_text(encoding="utf-8").splitlines())
        unknown = [e.line for e in events if e.event_class == taxonomy.UNKNOWN]
        assert not unknown, f"{Path(path).name}: {unknown[:3]}"


def test_every_class_has_a_real_or_quoted_line() -> None:
    tax = taxonomy.load_taxonomy()
    seen = {label["class"] for label in _LABELS} | {row["class"] for row in _QUOTED}
    for rule in tax.rules:
        seen |= {
            rule.event_class
            for ex in rule.spec.example
            if taxonomy.classify(ex).event_class == rule.event_class
        }
    seen |= set(tax.spec.gc.example)
    missing = set(taxonomy.CLASSES) - seen
    assert not missing, f"classes without a test line: {sorted(missing)}"


def test_timestamps_and_levels_parse() -> None:
    event = taxonomy.classify(read_lines("kafka-4.3.1/startup-server.log")[0])
    assert event.ts is not None and event.ts.tzinfo is not None
    assert event.ts.isoformat().startswith("2026-12-04T23:42")
    assert event.severity == "INFO"


@pytest.mark.parametrize("label", _LABELS, ids=lambda x: f"{x['class']}:{x['find'][:40]}")
def test_class_logql_selects_the_real_line(label: dict) -> None:
    """The LogQL line filter of a class (a regex of literals) matches every real line of the class."""
    import re

    event = _event_for(label)
    query = taxonomy.logql_for(label["class"], broker="1")
    assert query.startswith('{broker="1"}')
    if " |~ " not in query:  # gc_info / stack_trace: the stream alone (see the test below)
        assert query == '{broker="1"}'
        return
    pattern = query.split(' |~ "', 1)[1][:-1].encode().decode("unicode_escape")
    assert re.search(pattern, event.line.split("\n")[0]), (pattern[:200], event.line[:200])


def test_almost_every_class_has_a_line_filter() -> None:
    without = [c for c in taxonomy.CLASSES if " |~ " not in taxonomy.logql_for(c)]
    assert without == ["gc_info", "stack_trace"]
