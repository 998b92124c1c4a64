"""The bundle format: a recorded window of metrics and logs in a directory.

    manifest.json      format version, cluster, brokers, window, step, profile, versions
    metrics.parquet    long format: ts (UTC), signal, broker, labels (JSON), value, query
    logs.parquet       ts (UTC), broker, labels (JSON stream labels), line
    ground_truth.json  only for recorded fault scenarios

Readers reject an unknown format version instead of guessing.

Frames read from a bundle hold their long repeated text columns (metrics: signal, labels, query;
logs: labels) as pandas categoricals with sorted categories: a day of metrics repeats a few dozen
label sets and queries over half a million rows, and reading them as strings cost ~390 MB of RSS
(Parquet decoding of every value) against ~80 MB as categories. Comparing, filtering, `isin`,
grouping (observed categories, in sorted = string order) and `astype(str)` behave as on strings.
Code that writes new text into such a column, or concatenates frames whose categories differ,
re-encodes with `as_categories` afterwards. `broker` stays a string column (it is filled and
compared most, and a fill value outside the categories would raise). Frames from live sources
and the empty frames below keep the "string" dtype: consumers handle both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from app.model import Window, iso, utc

FORMAT_VERSION = 1
METRIC_COLUMNS = ["ts", "signal", "broker", "labels", "value", "query"]
LOG_COLUMNS = ["ts", "broker", "labels", "line"]
CATEGORY_COLUMNS = {"signal", "labels", "query"}  # read as categoricals (see above)


class BundleError(ValueError):
    """A bundle directory is missing, incomplete or of a format this version cannot read."""


@dataclass(frozen=True)
class GroundTruth:
    scenario: str
    cause: str
    broker: str | None
    injected_at: datetime | None
    recovered_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "cause": self.cause,
            "broker": self.broker,
            "injected_at": iso(self.injected_at) if self.injected_at else None,
            "recovered_at": iso(self.recovered_at) if self.recovered_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        def when(key: str) -> datetime | None:
            value = data.get(key)
            return utc(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else None

        broker = data.get("broker")
        return cls(
            scenario=data["scenario"],
            cause=data["cause"],
            broker=None if broker is None else str(broker),
            injected_at=when("injected_at"),
            recovered_at=when("recovered_at"),
        )


@dataclass(frozen=True)
class Manifest:
    cluster: str
    brokers: list[str]
    window: Window
    step_seconds: float
    profile: str
    created_at: datetime
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "created_at": iso(self.created_at),
            "cluster": self.cluster,
            "brokers": list(self.brokers),
            "window": {"from": iso(self.window.start), "to": iso(self.window.end)},
            "step_seconds": self.step_seconds,
            "profile": self.profile,
            "versions": dict(self.versions),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        if not isinstance(data, dict):
            raise BundleError(
                f"manifest is a JSON {type(data).__name__}, not an object; it is not a bundle manifest"
            )
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise BundleError(
                f"bundle format version {version!r} is not supported (this build reads "
                f"version {FORMAT_VERSION}); re-record the bundle or upgrade the app"
            )

        def ts(value: str) -> datetime:
            return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))

        try:
            return cls._parse(data, ts)
        except KeyError as exc:
            raise BundleError(
                f"manifest has no {exc.args[0]!r} field; the bundle is damaged, re-record it"
            ) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise BundleError(
                f"manifest has a malformed field ({exc}); the bundle is damaged, re-record it"
            ) from None

    @classmethod
    def _parse(cls, data: dict[str, Any], ts) -> Manifest:
        return cls(
            cluster=data["cluster"],
            brokers=[str(b) for b in data["brokers"]],
            window=Window(ts(data["window"]["from"]), ts(data["window"]["to"])),
            step_seconds=float(data["step_seconds"]),
            profile=data["profile"],
            created_at=ts(data["created_at"]),
            versions=dict(data.get("versions", {})),
            notes=data.get("notes", ""),
        )


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: Manifest
    metrics: pd.DataFrame
    logs: pd.DataFrame
    ground_truth: GroundTruth | None = None
    problems: dict[str, str] = field(default_factory=dict)  # "metrics"/"logs" -> why that part is missing

    @property
    def name(self) -> str:
        return self.path.name


def empty_metrics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            "signal": pd.Series([], dtype="string"),
            "broker": pd.Series([], dtype="string"),
            "labels": pd.Series([], dtype="string"),
            "value": pd.Series([], dtype="float64"),
            "query": pd.Series([], dtype="string"),
        }
    )


def empty_logs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            "broker": pd.Series([], dtype="string"),
            "labels": pd.Series([], dtype="string"),
            "line": pd.Series([], dtype="string"),
        }
    )


def read_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    if not path.is_dir():
        raise BundleError(
            f"bundle {str(path)!r} is not a directory; pass a bundle folder such as samples/broker_down"
        )
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise BundleError(f"{str(path)!r} has no manifest.json; it is not a bundle")
    try:
        data = json.loads(manifest_file.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest_file}: manifest is not valid JSON ({exc})") from None
    try:
        return Manifest.from_dict(data)
    except BundleError as exc:
        raise BundleError(f"{manifest_file}: {exc}") from None


def read_ground_truth(path: str | Path) -> GroundTruth | None:
    """The bundle's ground truth, or None for a bundle recorded without an injected fault."""
    truth_file = Path(path) / "ground_truth.json"
    if not truth_file.is_file():
        return None
    try:
        return GroundTruth.from_dict(json.loads(truth_file.read_text()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{truth_file}: not a valid ground truth file ({exc}); fix or delete it") from None


def read_bundle(path: str | Path) -> Bundle:
    path = Path(path)
    manifest = read_manifest(path)
    problems: dict[str, str] = {}
    # A missing or damaged part costs that part only: the other one is still diagnosed.
    metrics = _read_part(path / "metrics.parquet", METRIC_COLUMNS, empty_metrics, "metrics", problems)
    logs = _read_part(path / "logs.parquet", LOG_COLUMNS, empty_logs, "logs", problems)
    truth = read_ground_truth(path)
    # Parquet decoding leaves ~100 MB of freed buffers (a day of metrics) in Arrow's allocator, which
    # keeps them for reuse; the frames are built, so hand them back before the pipeline allocates.
    pa.default_memory_pool().release_unused()
    return Bundle(
        path=path, manifest=manifest, metrics=metrics, logs=logs, ground_truth=truth, problems=problems
    )


def _read_part(file: Path, columns: list[str], empty, part: str, problems: dict[str, str]) -> pd.DataFrame:
    if not file.is_file():
        problems[part] = (
            f"{file.name} is missing from bundle {file.parent}; copy the whole bundle folder or re-record it"
        )
        return empty()
    try:
        return _read_parquet(file, columns)
    except BundleError as exc:
        problems[part] = str(exc)
        return empty()


def _read_parquet(file: Path, columns: list[str]) -> pd.DataFrame:
    try:
        schema = pq.read_schema(file)
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise BundleError(f"{file}: missing columns {missing}")
        # Only the columns used, text columns as dictionaries (pandas categoricals).
        text = [
            c
            for c in columns
            if c in CATEGORY_COLUMNS
            and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))
        ]
        frame = pd.read_parquet(file, columns=columns, read_dictionary=text)
    except (OSError, ValueError, pa.ArrowException) as exc:  # pyarrow's ArrowInvalid is a ValueError
        if isinstance(exc, BundleError):
            raise
        raise BundleError(
            f"{file} is not a readable Parquet file ({str(exc)[:160]}); it is corrupted or truncated, "
            "copy the bundle again or re-record it"
        ) from None
    try:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{file}: column ts is not a time ({str(exc)[:160]})") from None
    return as_categories(frame[columns])


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """The bundle reader's encoding: CATEGORY_COLUMNS as categoricals with sorted categories.

    For frames built or changed after reading (new label values, concatenated parts): a column
    that is already categorical keeps its values, under sorted categories.
    """
    out = frame.copy(deep=False)
    for column in CATEGORY_COLUMNS & set(frame.columns):
        values = frame[column]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
                continue
            values = values.astype("category")
        categories = values.cat.categories
        if len(categories) and not categories.is_monotonic_increasing:
            values = values.cat.reorder_categories(sorted(categories))
        out[column] = values
    return out


def write_bundle(
    path: str | Path,
    manifest: Manifest,
    metrics: pd.DataFrame,
    logs: pd.DataFrame,
    ground_truth: GroundTruth | None = None,
) -> Path:
    """Write a bundle directory; frames are sorted so re-recording gives stable files."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    metrics = _as_text(metrics[METRIC_COLUMNS]).sort_values(
        ["signal", "broker", "labels", "ts"], kind="stable"
    )
    logs = _as_text(logs[LOG_COLUMNS]).sort_values(["ts", "broker"], kind="stable")
    metrics.to_parquet(path / "metrics.parquet", index=False, compression="zstd")
    logs.to_parquet(path / "logs.parquet", index=False, compression="zstd")
    (path / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")
    if ground_truth is not None:
        (path / "ground_truth.json").write_text(json.dumps(ground_truth.to_dict(), indent=2) + "\n")
    return path


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns back to strings, so the files stay plain string columns."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.assign(**{c: frame[c].astype("string") for c in cats})
