"""Safe PromQL/LogQL label selectors: label values are untrusted and always escaped here.

Both languages quote label values as Go-style double-quoted strings, and both use RE2 for
`=~`/`!~`. Values are escaped for the string, and regex alternatives built from literal values
are escaped for RE2 first, so a broker called `1|.*` matches only itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
OPERATORS = ("=", "!=", "=~", "!~")
# RE2 treats a backslash before any ASCII punctuation as that literal character.
_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}\-])")


class SelectorError(ValueError):
    """A label name or operator that cannot be part of a selector."""


def escape_value(value: str) -> str:
    """Escape `value` for the inside of a double-quoted PromQL/LogQL string."""
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def escape_regex(value: str) -> str:
    """A regex matching exactly the literal `value` (RE2 syntax, before string escaping)."""
    return _RE2_SPECIAL.sub(r"\\\1", str(value))


def check_label(name: str) -> str:
    if not isinstance(name, str) or not LABEL_NAME.match(name):
        raise SelectorError(
            f"{name!r} is not a valid label name; "
            "use letters, digits and underscores, not starting with a digit"
        )
    return name


def matcher(label: str, op: str, value: str) -> str:
    check_label(label)
    if op not in OPERATORS:
        raise SelectorError(f"operator {op!r} is not one of {', '.join(OPERATORS)}")
    return f'{label}{op}"{escape_value(value)}"'


def any_of(label: str, values: Iterable[str]) -> str:
    """`label` equals one of `values` (exact matches, however odd the values are)."""
    values = sorted({str(v) for v in values})
    if not values:
        raise SelectorError(f"no values given for label {label!r}")
    if len(values) == 1:
        return matcher(label, "=", values[0])
    return matcher(label, "=~", "|".join(escape_regex(v) for v in values))


def present(label: str) -> str:
    """`label` is set (non-empty)."""
    return matcher(label, "=~", ".+")


@dataclass(frozen=True)
class LabelConfig:
    """How brokers and clusters are told apart in the metric labels.

    `broker_label` carries the broker id. When the series only have `instance`, set
    `broker_label="instance"` and `instance_map` ({broker id: instance}) so the app can
    still speak broker ids. `extra` matchers (e.g. {"job": "kafka"}) are added to broker-scoped
    selectors only.
    """

    broker_label: str = "broker"
    cluster_label: str | None = None
    instance_map: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_label(self.broker_label)
        if self.cluster_label is not None:
            check_label(self.cluster_label)
        for name in self.extra:
            check_label(name)

    def broker_values(self, brokers: Iterable[str]) -> list[str]:
        return [self.instance_map.get(str(b), str(b)) for b in brokers]

    def broker_of(self, value: str | None) -> str | None:
        """The broker id a series' broker-label value stands for."""
        if value is None:
            return None
        reverse = {v: k for k, v in self.instance_map.items()}
        return reverse.get(value, value)


def cluster_matchers(config: LabelConfig, cluster: str | None) -> list[str]:
    if cluster is None or config.cluster_label is None:
        return []
    return [matcher(config.cluster_label, "=", cluster)]


def broker_matchers(config: LabelConfig, cluster: str | None, brokers: Iterable[str] | None) -> list[str]:
    parts = cluster_matchers(config, cluster)
    brokers = None if brokers is None else list(brokers)
    if brokers:
        parts.append(any_of(config.broker_label, config.broker_values(brokers)))
    elif config.instance_map:
        # `instance` is on every target (exporters, Prometheus itself): name the brokers' ones.
        parts.append(any_of(config.broker_label, config.instance_map.values()))
    else:
        parts.append(present(config.broker_label))
    parts.extend(matcher(k, "=", v) for k, v in sorted(config.extra.items()))
    return parts


def stream_selector(labels: Mapping[str, str | Iterable[str]]) -> str:
    """A LogQL stream selector: a string value is an exact match, a collection any of its values."""
    if not labels:
        raise SelectorError("a LogQL stream selector needs at least one label matcher")
    parts = []
    for name, value in sorted(labels.items()):
        parts.append(matcher(name, "=", value) if isinstance(value, str) else any_of(name, value))
    return "{" + ", ".join(parts) + "}"
