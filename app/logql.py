"""LogQL built safely: stream selectors and line filters with every value escaped.

Only label matchers and line filters (`|=`, `!=`, `|~`, `!~`) are used, so the queries also run
on old Loki servers (1.x has no parsers or label-format stages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.selectors import SelectorError, any_of, check_label, escape_value, matcher, present

LINE_OPERATORS = ("|=", "!=", "|~", "!~")


@dataclass(frozen=True)
class LogLabels:
    """Which stream labels carry the broker, the cluster and the file (promtail adds `filename`)."""

    broker_label: str = "broker"
    cluster_label: str | None = None
    file_label: str = "filename"
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_label(self.broker_label)
        check_label(self.file_label)
        if self.cluster_label:
            check_label(self.cluster_label)
        for name in self.extra:
            check_label(name)


def selector(
    labels: LogLabels,
    cluster: str | None = None,
    brokers: Iterable[str] | None = None,
    files: Iterable[str] | None = None,
) -> str:
    """`{cluster="c", broker=~"1|2", filename=~".*/server.log"}`: brokers/files None means any."""
    parts = []
    if cluster is not None and labels.cluster_label:
        parts.append(matcher(labels.cluster_label, "=", cluster))
    brokers = None if brokers is None else list(brokers)
    parts.append(any_of(labels.broker_label, brokers) if brokers else present(labels.broker_label))
    if files:
        names = sorted({str(f) for f in files})
        # filename carries the full path; match on the base name, literally.
        pattern = ".*/(" + "|".join(re.escape(n) for n in names) + ")"
        parts.append(matcher(labels.file_label, "=~", pattern))
    parts.extend(matcher(k, "=", v) for k, v in sorted(labels.extra.items()))
    return "{" + ", ".join(parts) + "}"


def line_filter(op: str, text: str) -> str:
    if op not in LINE_OPERATORS:
        raise SelectorError(f"line filter operator {op!r} is not one of {', '.join(LINE_OPERATORS)}")
    if op in ("|~", "!~"):
        try:
            re.compile(text)
        except re.error as exc:
            raise SelectorError(f"line filter regex {text!r} does not compile: {exc}") from None
    return f'{op} "{escape_value(text)}"'


def query(stream: str, filters: Iterable[tuple[str, str]] = ()) -> str:
    """A log query: the stream selector followed by line filters, in order."""
    return " ".join([stream, *(line_filter(op, text) for op, text in filters)])


def contains_any(words: Iterable[str]) -> tuple[str, str]:
    """One `|~` filter matching any of the literal `words` (case-sensitive, as Kafka logs are)."""
    words = [w for w in words if w]
    if not words:
        raise SelectorError("contains_any needs at least one word")
    return "|~", "|".join(re.escape(w) for w in words)


STREAMS_FILE = Path(__file__).resolve().parent.parent / "loki_queries" / "streams.yaml"


@dataclass(frozen=True)
class StreamCatalog:
    """loki_queries/streams.yaml: default stream labels and the file names of each log family."""

    labels: LogLabels
    files: Mapping[str, tuple[str, ...]]

    def selector(
        self,
        family: str | None = None,
        cluster: str | None = None,
        brokers: Iterable[str] | None = None,
        labels: LogLabels | None = None,
    ) -> str:
        """Stream selector for one log family (None: every file) on `brokers` (None: all)."""
        if family is not None and family not in self.files:
            raise SelectorError(f"unknown log family {family!r}; known: {', '.join(sorted(self.files))}")
        files = self.files[family] if family else None
        return selector(labels or self.labels, cluster, brokers, files)


def load_streams(path: str | Path | None = None) -> StreamCatalog:
    file = Path(path) if path else STREAMS_FILE
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SelectorError(f"{file}: cannot read the stream catalog ({exc})") from None
    unknown = set(data) - {"labels", "files"}
    if unknown:
        raise SelectorError(f"{file}: unknown keys {sorted(unknown)}; use 'labels' and 'files'")
    names = data.get("labels") or {}
    bad = set(names) - {"broker", "cluster", "file"}
    if bad:
        raise SelectorError(f"{file}: unknown label roles {sorted(bad)}; use broker, cluster, file")
    labels = LogLabels(
        broker_label=names.get("broker", "broker"),
        cluster_label=names.get("cluster"),
        file_label=names.get("file", "filename"),
    )
    files = {}
    for family, value in (data.get("files") or {}).items():
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise SelectorError(f"{file}: files.{family} must be a non-empty list of file names")
        files[str(family)] = tuple(value)
    return StreamCatalog(labels, files)
