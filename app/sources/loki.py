"""Loki: log lines for a window, paged past the per-query entry limit, with a line cap.

Loki has no pagination cursor. Pages go forward in time: each next page starts at the last
timestamp seen (start is inclusive), and the entries at that boundary timestamp that were
already returned are dropped. More than one page's worth of entries sharing one nanosecond is
the only case that cannot be paged; then the boundary is stepped over and the result says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from app.bundle import LOG_COLUMNS, empty_logs
from app.logql import LogLabels, query, selector
from app.model import SourceReport, Window, utc
from app.sources.base import LogsResult, QueryRejected, SourceError, SourceUnavailable
from app.sources.http import DEFAULT_TIMEOUT, MalformedAnswer, get_json, make_session

SOURCE = "loki"
PAGE_LIMIT = 5_000  # Loki's default max_entries_limit_per_query
MAX_LINES = 100_000
BROKER_LABEL_CANDIDATES = ("broker", "broker_id", "kafka_broker", "node_id", "pod", "host", "instance")


MalformedLokiResponse = MalformedAnswer  # Prometheus/Loki answered, but not with the API's JSON shape


@dataclass(frozen=True)
class Entry:
    ns: int
    labels: tuple[tuple[str, str], ...]
    line: str


@dataclass
class Page:
    entries: list[Entry] = field(default_factory=list)


def parse_streams(payload: object, logql: str) -> list[Entry]:
    """Entries of a query_range `streams` answer (pure; raises MalformedLokiResponse)."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        raise MalformedLokiResponse(
            SOURCE, f"answer is not a successful Loki response: {str(payload)[:200]}", logql
        )
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise MalformedLokiResponse(SOURCE, "answer has no data.result list", logql)
    if data.get("resultType") != "streams":
        raise MalformedLokiResponse(
            SOURCE,
            f"expected resultType 'streams', got {data.get('resultType')!r} (is this a metric query?)",
            logql,
        )
    out = []
    for stream in data["result"]:
        try:
            labels = tuple(sorted((str(k), str(v)) for k, v in stream["stream"].items()))
            for ns, line in stream["values"]:
                out.append(Entry(int(ns), labels, str(line)))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise MalformedLokiResponse(
                SOURCE, f"a stream in the answer is malformed: {str(stream)[:200]}", logql
            ) from None
    return out


def next_page_start(entries: list[Entry], seen_at_boundary: set[Entry]) -> tuple[int, set[Entry]]:
    """Where the next forward page starts, and the entries at that nanosecond already taken."""
    last = max(e.ns for e in entries)
    at_last = {e for e in entries if e.ns == last}
    return last, at_last | {e for e in seen_at_boundary if e.ns == last}


class LokiClient:
    def __init__(
        self,
        url: str,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        session=None,
        page_limit: int = PAGE_LIMIT,
    ):
        if not url or not url.startswith(("http://", "https://")):
            raise ValueError(f"Loki URL {url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.page_limit = page_limit
        self.session = session or make_session(retries, backoff=1.0)
        self.queries_sent = 0
        self.last_failure: SourceUnavailable | None = None  # set when a pull stopped part-way

    def _get(self, path: str, params=None, logql: str | None = None):
        self.queries_sent += 1
        return get_json(
            self.session, f"{SOURCE} at {self.url}", f"{self.url}{path}", params, self.timeout, logql
        )

    def labels(self, start: datetime | None = None, end: datetime | None = None) -> list[str]:
        params = _range_params(start, end)
        payload = self._get("/loki/api/v1/labels", params)
        return _string_list(payload, "labels")

    def label_values(
        self, label: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[str]:
        payload = self._get(f"/loki/api/v1/label/{label}/values", _range_params(start, end))
        return _string_list(payload, f"values of {label}")

    def version(self) -> str | None:
        """Loki's version from /loki/api/v1/status/buildinfo (2.x and later); None when absent."""
        try:
            payload = self._get("/loki/api/v1/status/buildinfo")
        except SourceError:
            return None  # Loki 1.x has no buildinfo endpoint
        if not isinstance(payload, dict):
            return None
        data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
        return str(data.get("version") or "") or None

    def query_page(self, logql: str, start_ns: int, end_ns: int, limit: int) -> list[Entry]:
        params = {
            "query": logql,
            "start": str(start_ns),
            "end": str(end_ns),
            "limit": str(limit),
            "direction": "forward",
        }
        return parse_streams(self._get("/loki/api/v1/query_range", params, logql), logql)

    def query_range(
        self, logql: str, window: Window, max_lines: int = MAX_LINES
    ) -> tuple[list[Entry], bool, str]:
        """All entries in [start, end] oldest first, paged; (entries, truncated, note)."""
        start = _ns(window.start)
        end = _ns(window.end) + 1  # Loki's end is exclusive; our windows are closed
        out: list[Entry] = []
        boundary: set[Entry] = set()
        note = ""
        self.last_failure = None
        while start < end and len(out) < max_lines:
            limit = self.page_limit
            try:
                page = self.query_page(logql, start, end, limit)
            except SourceUnavailable as exc:
                if not out:
                    raise
                # Loki went away (or kept answering 429) mid-pull: keep the pages already read.
                self.last_failure = exc
                since = pd.Timestamp(start, unit="ns", tz="UTC").isoformat()
                return out, True, f"lines after {since} are missing: {exc}"
            except QueryRejected as exc:
                smaller = _server_entry_limit(str(exc))
                if smaller is None or smaller >= limit:
                    raise
                self.page_limit = smaller  # the server allows fewer lines per query: page smaller
                continue
            fresh = [e for e in page if e not in boundary]
            out.extend(fresh)
            if len(page) < limit:
                return out, False, note
            if not fresh:
                # A full page of entries all sharing one nanosecond: step over it.
                note = f"more than {limit} lines share timestamp {start} ns; some of them may be missing"
                start, boundary = start + 1, set()
                continue
            start, boundary = next_page_start(page, boundary)
        truncated = len(out) >= max_lines
        if truncated:
            note = (
                note + "; " if note else ""
            ) + f"stopped at the cap of {max_lines} lines; narrow the window or brokers"
        return out[:max_lines], truncated, note


# Loki 1.x says "max_entries_limit (N > M)", 2.x and later "max_entries_limit_per_query (N > M)".
_ENTRY_LIMIT = re.compile(r"max_entries_limit(?:_per_query)? \((\d+) > (\d+)\)")


def _server_entry_limit(message: str) -> int | None:
    """The server's max_entries_limit_per_query, from its 400 message (None if not that error)."""
    match = _ENTRY_LIMIT.search(message)
    return int(match.group(2)) if match and int(match.group(2)) > 0 else None


def entries_frame(entries: Iterable[Entry], labels: LogLabels) -> pd.DataFrame:
    rows = []
    for entry in entries:
        tags = dict(entry.labels)
        rows.append((entry.ns, tags.get(labels.broker_label), json.dumps(tags, sort_keys=True), entry.line))
    if not rows:
        return empty_logs()
    try:
        frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    except UnicodeEncodeError:
        # A JSON "\udcff" escape decodes to a lone surrogate, which Arrow-backed strings refuse:
        # replace such characters (as invalid UTF-8 bytes are) instead of failing the whole pull.
        rows = [
            (ns, _valid_text(broker), _valid_text(tags), _valid_text(line)) for ns, broker, tags, line in rows
        ]
        frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ns", utc=True)
    for column in ("broker", "labels", "line"):
        frame[column] = frame[column].astype("string")
    return frame.sort_values(["ts", "broker"], kind="stable").reset_index(drop=True)


def fetch_logs(
    client: LokiClient,
    labels: LogLabels,
    window: Window,
    cluster: str | None = None,
    brokers: list[str] | None = None,
    filters: Iterable[tuple[str, str]] = (),
    max_lines: int = MAX_LINES,
) -> LogsResult:
    logql = query(selector(labels, cluster, brokers), filters)
    entries, truncated, note = client.query_range(logql, window, max_lines)
    frame = entries_frame(entries, labels)
    if getattr(client, "last_failure", None) is not None:
        report = SourceReport("logs", "error", f"{len(frame)} lines kept; {note}")
    elif truncated:
        report = SourceReport("logs", "partial", f"{len(frame)} lines; truncated: {note}")
    elif frame.empty:
        report = SourceReport("logs", "no_data", f"no log lines for {logql} in this window")
    else:
        report = SourceReport(
            "logs", "partial" if note else "ok", f"{len(frame)} lines" + (f"; {note}" if note else "")
        )
    return LogsResult(frame, [report], truncated=truncated)


def detect_broker_label(client: LokiClient, window: Window) -> str | None:
    names = set(client.labels(window.start, window.end))
    return next((c for c in BROKER_LABEL_CANDIDATES if c in names), None)


def _ns(ts: datetime) -> int:
    return int(pd.Timestamp(utc(ts)).value)


def _range_params(start: datetime | None, end: datetime | None) -> dict[str, str]:
    params = {}
    if start is not None:
        params["start"] = str(_ns(start))
    if end is not None:
        params["end"] = str(_ns(end))
    return params


def _string_list(payload: object, what: str) -> list[str]:
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        return [str(v) for v in payload["data"]]
    if isinstance(payload, dict) and "status" in payload and payload.get("data") is None:
        return []  # Loki answers data: null when there are no labels in range
    raise MalformedLokiResponse(SOURCE, f"{what} are not a list: {str(payload)[:200]}")


def _valid_text(text: str | None) -> str | None:
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")
