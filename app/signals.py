"""The signal library: promql_library/*.yaml validated into typed signals, rendered to PromQL.

A signal is data (id, unit, detector kind, what bad looks like, one PromQL template per
metric-naming profile); this module only validates it and fills the placeholders with
escaped selectors. Unknown keys, unknown profiles and unknown placeholders fail on load, so
a typo in the YAML is a clear error at start-up instead of an empty chart later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.selectors import LabelConfig, broker_matchers, check_label, cluster_matchers

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "promql_library"
PLACEHOLDERS = {"sel", "csel", "by", "range"}
Kind = Literal["level", "rate", "gauge", "latency", "lag", "state"]
Scope = Literal["broker", "cluster", "group"]
_PLACEHOLDER = re.compile(r"\$([a-z_]+)")
_METRIC_NAME = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster, same data


class LibraryError(ValueError):
    """The YAML library is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bad(_Strict):
    direction: Literal["up", "down", "either"]
    warn: float | None = None
    critical: float | None = None
    expected: float | None = None


class Profile(_Strict):
    name: str = ""
    description: str
    renames: dict[str, str] = Field(default_factory=dict)


class Signal(_Strict):
    id: str
    description: str
    unit: str
    kind: Kind
    scope: Scope
    bad: Bad
    promql: str
    overrides: dict[str, str] = Field(default_factory=dict)
    profiles: list[str] | None = None  # None: every profile
    sparse: bool = False  # only has samples around events (e.g. an election); no data is normal

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"signal id {value!r} must be lower_snake_case")
        return value

    @model_validator(mode="after")
    def _placeholders_known(self) -> Signal:
        for template in [self.promql, *self.overrides.values()]:
            unknown = set(_PLACEHOLDER.findall(template)) - PLACEHOLDERS
            if unknown:
                raise ValueError(
                    f"signal {self.id}: unknown placeholder(s) {sorted('$' + u for u in unknown)}; "
                    f"use {sorted('$' + p for p in PLACEHOLDERS)}"
                )
        return self

    def template(self, profile: Profile) -> str:
        if profile.name in self.overrides:
            return self.overrides[profile.name]
        text = self.promql
        for old, new in profile.renames.items():
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
        return text

    def metric_names(self, profile: Profile) -> set[str]:
        """Metric names the query reads under `profile` (what profile detection looks for)."""
        return set(_METRIC_NAME.findall(self.template(profile)))

    def render(
        self,
        profile: Profile,
        labels: LabelConfig | None = None,
        cluster: str | None = None,
        brokers: Iterable[str] | None = None,
        range_seconds: float = 60.0,
    ) -> str:
        """The PromQL for `profile`, restricted to `cluster` and `brokers` (all when None)."""
        if self.profiles is not None and profile.name not in self.profiles:
            raise KeyError(f"signal {self.id} does not exist in profile {profile.name}")
        labels = labels or LabelConfig()
        values = {
            "sel": ",".join(broker_matchers(labels, cluster, brokers)),
            "csel": ",".join(cluster_matchers(labels, cluster)),
            "by": check_label(labels.broker_label),
            "range": f"{max(1, int(round(range_seconds)))}s",
        }
        # Tidy the template before any value goes in, so label values are never rewritten.
        text = re.sub(r"\s+", " ", self.template(profile)).strip()
        for name, value in values.items():
            if not value:
                text = re.sub(rf"\{{\s*\${name}\s*\}}", "", text)
                text = re.sub(rf",\s*\${name}\b|\${name}\s*,\s*", "", text)
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


class Library(_Strict):
    profiles: dict[str, Profile]
    signals: list[Signal]

    @model_validator(mode="after")
    def _consistent(self) -> Library:
        seen: set[str] = set()
        for signal in self.signals:
            if signal.id in seen:
                raise ValueError(f"signal id {signal.id!r} is defined twice")
            seen.add(signal.id)
            for name in [*signal.overrides, *(signal.profiles or [])]:
                if name not in self.profiles:
                    raise ValueError(
                        f"signal {signal.id}: unknown profile {name!r}; "
                        f"known: {', '.join(sorted(self.profiles))}"
                    )
        return self

    def signal(self, signal_id: str) -> Signal:
        for signal in self.signals:
            if signal.id == signal_id:
                return signal
        raise KeyError(f"unknown signal {signal_id!r}; known: {', '.join(self.ids())}")

    def ids(self) -> list[str]:
        return [s.id for s in self.signals]

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            raise KeyError(
                f"unknown metric-naming profile {name!r}; known: {', '.join(sorted(self.profiles))}"
            )
        return self.profiles[name]

    def in_profile(self, name: str) -> list[Signal]:
        return [s for s in self.signals if s.profiles is None or name in s.profiles]

    def kinds(self) -> dict[str, str]:
        """signal id -> detector kind (what app.detect.detect_metrics takes)."""
        return {s.id: s.kind for s in self.signals}

    def healthy_levels(self) -> dict[str, tuple[str, float]]:
        """signal id -> (bad direction, warn level) for signals with both (detect_metrics' `healthy`)."""
        return {
            s.id: (s.bad.direction, float(s.bad.warn))
            for s in self.signals
            if s.bad.direction in ("up", "down") and s.bad.warn is not None
        }

    def detect_profile(self, metric_names: Iterable[str]) -> tuple[str | None, dict[str, float]]:
        """Best profile for the metric names a server has, with each profile's coverage (0..1)."""
        have = set(metric_names)
        wanted = {
            name: set().union(*(s.metric_names(profile) for s in self.in_profile(name)))
            for name, profile in self.profiles.items()
        }
        # Names every profile reads (up, jvm_*, the lag exporter's) say nothing about the profile.
        common = set.intersection(*wanted.values()) if wanted else set()
        scores: dict[str, float] = {}
        for name, names in wanted.items():
            telling = names - common
            scores[name] = len(telling & have) / len(telling) if telling else 0.0
        best = max(scores, key=lambda n: (scores[n], n == "jmx_kafka"))
        return (best if scores[best] > 0 else None), scores


def load_library(directory: str | Path | None = None) -> Library:
    """Read and validate every YAML file in `directory` (default: promql_library/)."""
    directory = Path(directory) if directory else LIBRARY_DIR
    return _load(str(directory.resolve()))


@lru_cache(maxsize=4)
def _load(directory: str) -> Library:
    folder = Path(directory)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise LibraryError(f"{folder}: no *.yaml signal files found")
    profiles: dict[str, dict] = {}
    signals: list[dict] = []
    for file in files:
        try:
            data = yaml.load(file.read_text(), Loader=_LOADER) or {}  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise LibraryError(f"{file}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise LibraryError(f"{file}: expected a mapping with 'profiles' and/or 'signals'")
        unknown = set(data) - {"profiles", "signals"}
        if unknown:
            raise LibraryError(
                f"{file}: unknown top-level keys {sorted(unknown)}; use 'profiles' and 'signals'"
            )
        for name, body in (data.get("profiles") or {}).items():
            if name in profiles:
                raise LibraryError(f"{file}: profile {name!r} is defined twice")
            profiles[name] = {**(body or {}), "name": name}
        for entry in data.get("signals") or []:
            signals.append(entry)
    try:
        return Library(profiles=profiles, signals=signals)
    except ValidationError as exc:
        raise LibraryError(f"{folder}: invalid signal library:\n{_explain(exc, signals)}") from None


def _explain(exc: ValidationError, signals: list[dict]) -> str:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "signals" and isinstance(loc[1], int) and loc[1] < len(signals):
            entry = signals[loc[1]]
            where = f"signal {entry.get('id', loc[1]) if isinstance(entry, dict) else loc[1]}: " + ".".join(
                str(p) for p in loc[2:]
            )
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


def render(
    signal_id: str,
    profile: str = "jmx_kafka",
    broker: str | None = None,
    cluster: str | None = None,
    labels: LabelConfig | None = None,
    range_seconds: float = 60.0,
) -> str:
    """Convenience: the PromQL of one library signal for one broker (None: all brokers)."""
    lib = load_library()
    return lib.signal(signal_id).render(
        lib.profile(profile), labels, cluster, None if broker in (None, "all") else [broker], range_seconds
    )
