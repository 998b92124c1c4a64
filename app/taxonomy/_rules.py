"""Load `loki_queries/taxonomy.yaml`, validate it, and compile it into dispatch tables.

The YAML is validated into pydantic models (unknown keys and classes are rejected with the rule
that carries them). Each rule's message templates become regular expressions; the literal text
of every template goes into one Aho-Corasick automaton, so a line is scanned once for all
literals and only the rules whose literal occurs are tried with their regex.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick_rs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster, same data
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "loki_queries" / "taxonomy.yaml"

UNKNOWN = "unknown"

# Template field types. Every one is bounded or possessive so a hostile line cannot make a
# search quadratic beyond the bounds (see bench/taxonomy.py for the pathological-line timing).
_IDS_BODY = r"\d{1,10}+(?:, ?\d{1,10}+){0,2000}+"
TYPES = {
    "int": r"-?\d{1,19}+",
    "ids": rf"(?:[A-Za-z]{{0,24}}\()?\[?(?:{_IDS_BODY})?\]?\)?",
    "ids1": rf"(?:[A-Za-z]{{0,24}}\()?\[?{_IDS_BODY}\]?\)?",
    "tp": r"[^\s,;:()\[\]{}=]{1,300}",
    "name": r"[^\s,;:()\[\]{}=]{1,300}",
    "word": r"\S{1,1000}",
    "dir": r"[^\s,]{1,1000}",
    "rest": r".*",
}
SKIP = r".{0,512}?"
DEFAULT_TYPE = {
    "broker": "int",
    "peer": "int",
    "partition": "int",
    "coord": "int",
    "isr_from": "ids",
    "isr_to": "ids",
    "brokers": "ids1",
    "tp": "tp",
    "log_dir": "dir",
}
ENTITY_GROUPS = {
    "broker",
    "peer",
    "partition",
    "coord",
    "isr_from",
    "isr_to",
    "brokers",
    "tp",
    "topic",
    "group",
    "member",
    "log_dir",
    "ms",
    "secs",
}


class TaxonomyError(ValueError):
    """The taxonomy YAML is invalid; the message names the rule and what to fix."""


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    event_class: str = Field(alias="class")
    loggers: list[str] | None = None
    idents: list[str] | None = None
    levels: list[str] | None = None
    continuation: bool = False
    match: list[str] = []
    regex: list[str] = []
    versions: str = ""
    example: list[str] = []

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: list[str] | None) -> list[str] | None:
        allowed = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}
        if v is not None and not set(v) <= allowed:
            raise ValueError(f"levels {sorted(set(v) - allowed)} are not among {sorted(allowed)}")
        return v


class GcSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    long_pause_ms: float = 1000.0
    pause: list[str]
    example: dict[str, list[str]] = {}


class TaxonomySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    classes: list[str]
    record_overrides: dict[str, list[str]]
    gc: GcSpec
    rules: list[RuleSpec]


@dataclass(frozen=True)
class Rule:
    index: int
    event_class: str
    loggers: frozenset[str] | None
    idents: tuple[str, ...] | None
    levels: frozenset[str] | None
    continuation: bool
    has_pattern: bool
    spec: RuleSpec


@dataclass(frozen=True)
class Matcher:
    """One template or regex of a rule; `rx is None` means the rule matches any message."""

    rule: Rule
    rx: re.Pattern[str] | None
    literal: str  # "" when no literal can pre-filter this matcher


@dataclass
class Taxonomy:
    spec: TaxonomySpec
    classes: tuple[str, ...]
    rules: list[Rule]
    matchers: list[Matcher]
    automaton: Any  # ahocorasick_rs.AhoCorasick over the distinct literals
    literal_matchers: list[tuple[int, ...]]  # literal index -> matcher indices
    by_logger: dict[str, tuple[frozenset[int], tuple[int, ...]]]  # key -> (allowed, always-try)
    header_any: tuple[frozenset[int], tuple[int, ...]]
    plain: tuple[frozenset[int], tuple[int, ...]]
    overrides: dict[str, frozenset[str]]
    gc_pause: list[re.Pattern[str]]
    long_pause_ms: float


def compile_template(template: str) -> tuple[str, str]:
    """A message template to (regex source, longest literal)."""
    body = template
    start = end = ""
    if body.startswith("^"):
        start, body = r"\A", body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        end, body = r"\Z", body[:-1]
    parts: list[str] = []
    literals: list[str] = []
    seen: set[str] = set()
    for literal, field, spec, conversion in string.Formatter().parse(body):
        if literal:
            parts.append(re.escape(literal))
            literals.append(literal)
        if field is None:
            continue
        if conversion:
            raise TaxonomyError(f"template {template!r}: '!' is not allowed inside {{...}}")
        if field == "*":
            parts.append(SKIP)
            continue
        kind = spec or DEFAULT_TYPE.get(field, "word")
        if kind not in TYPES:
            raise TaxonomyError(f"template {template!r}: unknown type {kind!r}; use one of {sorted(TYPES)}")
        if field and field not in ENTITY_GROUPS:
            raise TaxonomyError(
                f"template {template!r}: unknown capture {field!r}; use one of {sorted(ENTITY_GROUPS)}"
            )
        if field and field in seen:
            raise TaxonomyError(f"template {template!r}: capture {field!r} appears twice")
        seen.add(field)
        parts.append(f"(?P<{field}>{TYPES[kind]})" if field else f"(?:{TYPES[kind]})")
    return start + "".join(parts) + end, max(literals, key=len, default="")


def regex_literal(source: str) -> str:
    """The longest literal run a regex needs at its top level ("" if none can be proven)."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(source)
    except Exception:  # noqa: BLE001 - any parse problem just means "no pre-filter"
        return ""
    best, run = "", []
    for op, arg in parsed:
        if op is _parser.LITERAL:
            run.append(chr(arg))
            continue
        best = max(best, "".join(run), key=len)
        run = []
    return max(best, "".join(run), key=len)


def simple_logger(logger: str) -> str:
    """`org.apache.kafka.clients.NetworkClient` -> `NetworkClient`; `kafka.log.LocalLog$` -> `LocalLog`."""
    tail = logger.rsplit(".", 1)[-1].rstrip("$")
    return tail.split("$", 1)[0] if "$" in tail else tail


def load(path: str | Path | None = None) -> Taxonomy:
    """Read and compile the taxonomy (cached per path)."""
    return _load(str(Path(path).resolve()) if path else str(DEFAULT_PATH))


@lru_cache(maxsize=8)
def _load(path: str) -> Taxonomy:
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except OSError as exc:
        raise TaxonomyError(
            f"cannot read taxonomy {path}: {exc.strerror}; restore loki_queries/taxonomy.yaml"
        ) from exc
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"taxonomy {path} is not valid YAML: {exc}") from exc
    try:
        spec = TaxonomySpec.model_validate(raw)
    except ValidationError as exc:
        raise TaxonomyError(f"taxonomy {path} is invalid: {exc}") from exc
    return build(spec)


def build(spec: TaxonomySpec) -> Taxonomy:
    classes = tuple(spec.classes)
    if len(set(classes)) != len(classes):
        raise TaxonomyError("taxonomy: duplicate class names in `classes`")
    known = set(classes) | {UNKNOWN}
    rules: list[Rule] = []
    matchers: list[Matcher] = []
    for i, rs in enumerate(spec.rules):
        if rs.event_class not in known:
            raise TaxonomyError(f"rule {i} ({rs.event_class!r}): class is not in `classes`")
        rule = Rule(
            index=i,
            event_class=rs.event_class,
            loggers=frozenset(rs.loggers) if rs.loggers else None,
            idents=tuple(rs.idents) if rs.idents else None,
            levels=frozenset(rs.levels) if rs.levels else None,
            continuation=rs.continuation,
            has_pattern=bool(rs.match or rs.regex),
            spec=rs,
        )
        rules.append(rule)
        if not rule.has_pattern:
            if rule.loggers is None and rule.idents is None:
                raise TaxonomyError(
                    f"rule {i} ({rs.event_class!r}) has no match, regex, loggers or idents: "
                    "it would match every line"
                )
            matchers.append(Matcher(rule, None, ""))
            continue
        for template in rs.match:
            source, literal = compile_template(template)
            matchers.append(Matcher(rule, _compile(source, i, rs.event_class), literal))
        for source in rs.regex:
            rx = _compile(source, i, rs.event_class)
            bad = set(rx.groupindex) - ENTITY_GROUPS
            if bad:
                raise TaxonomyError(f"rule {i} ({rs.event_class!r}): unknown capture groups {sorted(bad)}")
            matchers.append(Matcher(rule, rx, regex_literal(source)))

    literals = sorted({m.literal for m in matchers if m.literal})
    lit_index = {lit: k for k, lit in enumerate(literals)}
    literal_matchers: list[list[int]] = [[] for _ in literals]
    for k, m in enumerate(matchers):
        if m.literal:
            literal_matchers[lit_index[m.literal]].append(k)
    automaton = ahocorasick_rs.AhoCorasick(
        literals or ["\x00never\x00"], matchkind=ahocorasick_rs.MatchKind.Standard
    )

    def table(keep) -> tuple[frozenset[int], tuple[int, ...]]:
        allowed = [k for k, m in enumerate(matchers) if keep(m)]
        return frozenset(allowed), tuple(k for k in allowed if not matchers[k].literal)

    logger_names = sorted({name for r in rules if r.loggers for name in r.loggers})
    by_logger = {
        name: table(
            lambda m, n=name: not m.rule.continuation and (m.rule.loggers is None or n in m.rule.loggers)
        )
        for name in logger_names
    }
    header_any = table(lambda m: not m.rule.continuation and m.rx is not None)
    plain = table(lambda m: m.rx is not None)

    overrides = {}
    for header, causes in spec.record_overrides.items():
        for c in [header, *causes]:
            if c not in known and c != "*":
                raise TaxonomyError(f"record_overrides: {c!r} is not a class")
        overrides[header] = frozenset(causes)
    gc_pause = []
    for source in spec.gc.pause:
        rx = _compile(source, -1, "gc")
        if not {"ms", "secs"} & set(rx.groupindex):
            raise TaxonomyError(f"gc.pause regex {source!r} needs a (?P<ms>...) or (?P<secs>...) group")
        gc_pause.append(rx)
    return Taxonomy(
        spec=spec,
        classes=classes,
        rules=rules,
        matchers=matchers,
        automaton=automaton,
        literal_matchers=[tuple(x) for x in literal_matchers],
        by_logger=by_logger,
        header_any=header_any,
        plain=plain,
        overrides=overrides,
        gc_pause=gc_pause,
        long_pause_ms=spec.gc.long_pause_ms,
    )


def _compile(source: str, index: int, cls: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as exc:
        raise TaxonomyError(f"rule {index} ({cls!r}): bad regex {source!r}: {exc}") from exc
