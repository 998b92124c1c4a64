"""The one interface every source implements, and the source error tree.

    SourceError            something went wrong talking to a source
     ├── SourceUnavailable  unreachable, timed out, 5xx after retries
     ├── QueryRejected      the server refused the query (bad PromQL/LogQL, 4xx, limits)
     └── Truncated          the answer was cut at a cap (the partial data is still returned)

Sources return tidy frames and a `SourceReport` (ok / no_data / partial / error);
they never decide anything about the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from app.model import SourceReport, Window


class SourceError(Exception):
    def __init__(self, source: str, message: str, query: str | None = None):
        self.source = source
        self.query = query
        super().__init__(f"{source}: {message}" + (f" (query: {query})" if query else ""))


class SourceUnavailable(SourceError):
    pass


class QueryRejected(SourceError):
    pass


class Truncated(SourceError):
    pass


@dataclass(frozen=True)
class MetricsResult:
    """Long frame: ts (UTC), signal, broker, labels (JSON), value, query."""

    frame: pd.DataFrame
    reports: list[SourceReport] = field(default_factory=list)
    step_seconds: float = 0.0


@dataclass(frozen=True)
class LogsResult:
    """Frame: ts (UTC), broker, labels (JSON stream labels), line."""

    frame: pd.DataFrame
    reports: list[SourceReport] = field(default_factory=list)
    truncated: bool = False


class Source(Protocol):
    """Same calls on live servers and on a recorded bundle."""

    name: str

    def cluster(self) -> str: ...

    def brokers(self) -> list[str]: ...

    def default_window(self) -> Window | None: ...

    def metrics(self, window: Window, signals: list[str] | None = None) -> MetricsResult: ...

    def logs(self, window: Window, brokers: list[str] | None = None) -> LogsResult: ...
