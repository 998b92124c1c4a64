"""The taxonomy data: every rule's examples, validation of bad YAML, vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app import taxonomy
from app.taxonomy._rules import DEFAULT_PATH, compile_template, regex_literal

_TAX = taxonomy.load_taxonomy()
_EXAMPLES = [(r.index, r.event_class, ex) for r in _TAX.rules for ex in r.spec.example]
_GC = [(cls, ex) for cls, exs in _TAX.spec.gc.example.items() for ex in exs]


def test_vocabulary_is_the_48_classes_of_the_note() -> None:
    assert len(taxonomy.CLASSES) == 48
    assert "consumer_lag_warning" not in taxonomy.CLASSES
    assert {"isr_shrink", "long_gc_pause", "other_info", "config_dump"} <= set(taxonomy.CLASSES)


@pytest.mark.parametrize(("index", "cls", "line"), _EXAMPLES, ids=lambda v: str(v)[:50])
def test_rule_examples(index: int, cls: str, line: str) -> None:
    assert taxonomy.classify(line).event_class == cls


@pytest.mark.parametrize(("cls", "line"), _GC)
def test_gc_examples(cls: str, line: str) -> None:
    assert taxonomy.classify(line).event_class == cls


def test_template_compiles_to_linear_parts() -> None:
    source, literal = compile_template("Shrinking ISR from {isr_from} to {isr_to}")
    assert literal == "Shrinking ISR from "
    assert "(?P<isr_from>" in source and "(?P<isr_to>" in source


def test_regex_literal_prefilter() -> None:
    assert regex_literal(r"^\s*Log cleaner thread \d+ cleaned log ") == "Log cleaner thread "
    assert regex_literal(r"(a|b)") == ""


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_unknown_class_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["rules"].append({"class": "no_such_class", "match": ["x"]}))
    with pytest.raises(taxonomy.TaxonomyError, match="no_such_class"):
        taxonomy.load_taxonomy(path)


def test_unknown_capture_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["rules"].append({"class": "other_info", "match": ["x {nonsense}"]}))
    with pytest.raises(taxonomy.TaxonomyError, match="nonsense"):
        taxonomy.load_taxonomy(path)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["rules"].append({"class": "other_info", "match": ["x"], "typo": 1}))
    with pytest.raises(taxonomy.TaxonomyError, match="typo"):
        taxonomy.load_taxonomy(path)


def test_rule_matching_everything_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["rules"].append({"class": "other_info"}))
    with pytest.raises(taxonomy.TaxonomyError, match="every line"):
        taxonomy.load_taxonomy(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(taxonomy.TaxonomyError, match="restore"):
        taxonomy.load_taxonomy(tmp_path / "nope.yaml")


def test_wording_change_is_a_one_line_edit(tmp_path: Path) -> None:
    """A new Kafka wording: add one template string, the line is classified with its entities."""
    line = "[2030-01-01 00:00:00,000] INFO [Partition t-1 broker=2] ISR contracted from 1,2,3 to 2 (kafka.cluster.Partition)"  # noqa: E501 (a real log line reads best whole)
    assert taxonomy.classify(line).event_class == "other_info"

    def add(d):
        rule = next(r for r in d["rules"] if r["class"] == "isr_shrink")
        rule["match"].append("ISR contracted from {isr_from} to {isr_to}")

    tax = taxonomy.load_taxonomy(_write(tmp_path, add))
    event = taxonomy.classify(line, taxonomy=tax)
    assert (event.event_class, event.isr_from, event.isr_to, event.broker) == (
        "isr_shrink",
        [1, 2, 3],
        [2],
        "2",
    )
