"""Prometheus: library signals as range queries, one query per signal across all brokers.

Pure parts (`choose_step`, `parse_matrix`, `frame_from_series`) are separate from the HTTP
calls so they can be tested on recorded JSON. prometheus-api-client is not used: it rounds
start/end to whole seconds and hides Prometheus's error JSON, while the errors here must show
the PromQL and Prometheus's own message.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from app.bundle import METRIC_COLUMNS, empty_metrics
from app.model import SourceReport, Window, utc
from app.selectors import LabelConfig
from app.signals import Library, Profile, load_library
from app.sources.base import MetricsResult, QueryRejected, SourceError, SourceUnavailable
from app.sources.http import DEFAULT_TIMEOUT, MalformedAnswer, get_json, make_session

SOURCE = "prometheus"
MAX_POINTS = 11_000  # Prometheus refuses more points per series than this
TARGET_POINTS = 1_500  # enough for change points, light on the server
BROKER_LABEL_CANDIDATES = ("broker", "broker_id", "kafka_broker", "node_id", "kafka_node", "pod", "instance")
CLUSTER_LABEL_CANDIDATES = ("cluster", "kafka_cluster", "cluster_name", "strimzi_io_cluster")


MalformedResponse = MalformedAnswer  # Prometheus/Loki answered, but not with the API's JSON shape


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (epoch seconds, value)


@dataclass(frozen=True)
class Layout:
    """What was found (or configured) about the server's naming: profile and labels."""

    profile: str
    labels: LabelConfig
    scrape_interval: float
    cluster: str | None
    brokers: list[str] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)


def choose_step(
    window_seconds: float, scrape_interval: float = 15.0, target_points: int = TARGET_POINTS
) -> float:
    """A step no finer than the scrape interval, giving about `target_points`, never over 11,000."""
    step = max(scrape_interval, math.ceil(window_seconds / target_points))
    while window_seconds / step >= MAX_POINTS:
        step += 1
    return float(step)


def rate_range(step: float, scrape_interval: float) -> float:
    """rate() needs at least ~4 scrapes in its window, and should cover one step."""
    return max(4 * scrape_interval, step)


def parse_matrix(payload: object, query: str) -> list[Series]:
    """The `result` of a query_range answer; anything else is a clear MalformedResponse."""
    if not isinstance(payload, dict):
        raise MalformedResponse(SOURCE, "answer is not a JSON object", query)
    if payload.get("status") != "success":
        raise QueryRejected(
            SOURCE, f"{payload.get('errorType', 'error')}: {payload.get('error', 'no message')}", query
        )
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise MalformedResponse(SOURCE, "answer has no data.result list", query)
    if data.get("resultType") not in ("matrix", "vector", "scalar"):
        raise MalformedResponse(SOURCE, f"unexpected resultType {data.get('resultType')!r}", query)
    out = []
    for item in data["result"]:
        try:
            labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
            raw = item["values"] if "values" in item else [item["value"]]
            points = [(float(ts), float(value)) for ts, value in raw]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise MalformedResponse(
                SOURCE, f"a series in the answer is malformed: {str(item)[:200]}", query
            ) from None
        out.append(Series(labels, points))
    return out


def frame_from_series(
    series: Iterable[Series], signal: str, query: str, labels: LabelConfig, scope: str
) -> pd.DataFrame:
    """Long frame rows; NaN/Inf samples (0/0, no data yet) are dropped, gaps stay gaps."""
    rows = []
    for item in series:
        tags = {k: v for k, v in item.labels.items() if k != "__name__"}
        broker = labels.broker_of(tags.get(labels.broker_label)) if scope == "broker" else None
        text = json.dumps(tags, sort_keys=True)
        for ts, value in item.points:
            if math.isfinite(value):
                rows.append((ts, signal, broker, text, value, query))
    if not rows:
        return empty_metrics()
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    for column in ("signal", "broker", "labels", "query"):
        frame[column] = frame[column].astype("string")
    return frame


class PrometheusClient:
    """The HTTP side: every call has a timeout; errors name the server and the PromQL."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT, retries: int = 2, session=None):
        if not url or not url.startswith(("http://", "https://")):
            raise ValueError(f"Prometheus URL {url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        token = os.environ.get("LENS_PROMETHEUS_TOKEN")
        self.session = session or make_session(
            retries, headers={"Authorization": f"Bearer {token}"} if token else None
        )
        self.queries_sent = 0

    def _get(self, path: str, params=None, query: str | None = None, method: str = "GET"):
        self.queries_sent += 1
        return get_json(
            self.session, f"{SOURCE} at {self.url}", f"{self.url}{path}", params, self.timeout, query, method
        )

    def query_range(self, query: str, start: datetime, end: datetime, step: float) -> list[Series]:
        params = {
            "query": query,
            "start": f"{utc(start).timestamp():.3f}",
            "end": f"{utc(end).timestamp():.3f}",
            "step": f"{step:g}",
            "timeout": f"{self.timeout:g}s",
        }
        # POST keeps long PromQL out of URLs (and proxy logs); Prometheus accepts both.
        return parse_matrix(self._get("/api/v1/query_range", params, query, method="POST"), query)

    def query(self, query: str, at: datetime | None = None) -> list[Series]:
        params = {"query": query}
        if at is not None:
            params["time"] = f"{utc(at).timestamp():.3f}"
        return parse_matrix(self._get("/api/v1/query", params, query, method="POST"), query)

    def label_values(self, label: str) -> list[str]:
        payload = self._get(f"/api/v1/label/{label}/values")
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise MalformedResponse(SOURCE, f"label values of {label} are not a list")
        return [str(v) for v in payload["data"]]

    def series(self, match: str, start: datetime, end: datetime) -> list[dict[str, str]]:
        params = [
            ("match[]", match),
            ("start", f"{utc(start).timestamp():.3f}"),
            ("end", f"{utc(end).timestamp():.3f}"),
        ]
        payload = self._get("/api/v1/series", params, match)
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise MalformedResponse(SOURCE, "series answer is not a list", match)
        return [dict(item) for item in payload["data"]]

    def targets(self) -> list[dict]:
        payload = self._get("/api/v1/targets", {"state": "active"})
        data = payload.get("data") if isinstance(payload, dict) else None
        return list(data.get("activeTargets", [])) if isinstance(data, dict) else []

    def buildinfo(self) -> dict[str, str]:
        try:
            payload = self._get("/api/v1/status/buildinfo")
        except QueryRejected:
            return {}  # older servers and some proxies (Thanos, Mimir) do not have it
        data = payload.get("data") if isinstance(payload, dict) else None
        return dict(data) if isinstance(data, dict) else {}


def detect_layout(
    client: PrometheusClient,
    library: Library,
    window: Window,
    profile: str | None = None,
    broker_label: str | None = None,
    cluster_label: str | None = None,
    cluster: str | None = None,
    scrape_interval: float | None = None,
    instance_map: dict[str, str] | None = None,
) -> Layout:
    """Profile from the metric names the server has; broker and cluster labels from real series.

    With no broker-id label on the series, brokers are told apart by `instance`, mapped to broker
    ids by `instance_map` ({broker id: instance}) or, when not given, by the per-broker
    `app-info` metric names the JMX example rules produce (..._app_info_..._id_<N>_start_time_ms).
    """
    coverage: dict[str, float] = {}
    names: list[str] | None = None
    if profile is None:
        names = client.label_values("__name__")
        profile, coverage = library.detect_profile(names)
        if profile is None:
            raise SourceUnavailable(
                f"{SOURCE} at {client.url}",
                "none of the library's Kafka metric names exist there (checked profiles "
                + ", ".join(sorted(library.profiles))
                + "); is the JMX exporter scraped? or pass --profile",
            )
    chosen = library.profile(profile)
    probe = _probe_metric(library, chosen)
    series = client.series(probe, window.start, window.end) if probe else []
    if broker_label is None:
        broker_label = _pick_label(series, BROKER_LABEL_CANDIDATES) or "instance"
    if cluster_label is None:
        cluster_label = _pick_label(series, CLUSTER_LABEL_CANDIDATES, distinct=False)
    clusters = sorted({s[cluster_label] for s in series if cluster_label and cluster_label in s})
    if cluster is None and len(clusters) > 1:
        raise QueryRejected(
            f"{SOURCE} at {client.url}",
            f"several clusters share this Prometheus ({', '.join(clusters)}); pick one with --cluster",
        )
    if cluster is not None and clusters and cluster not in clusters:
        shown = cluster if len(cluster) <= 60 else cluster[:60] + "..."
        raise QueryRejected(
            f"{SOURCE} at {client.url}",
            f"cluster {shown!r} is not in this Prometheus (label {cluster_label}); clusters there: "
            f"{', '.join(clusters)}; fix --cluster",
        )
    cluster = cluster or (clusters[0] if clusters else None)
    instance_map = dict(instance_map or {})
    if broker_label == "instance" and not instance_map:
        instance_map = _instance_map_from_app_info(
            client, names if names is not None else client.label_values("__name__"), window
        )
    labels = LabelConfig(broker_label=broker_label, cluster_label=cluster_label, instance_map=instance_map)
    brokers = sorted(
        {
            labels.broker_of(s[broker_label])
            for s in series
            if broker_label in s and (cluster is None or s.get(cluster_label) == cluster)
        },
        key=_broker_sort_key,
    )
    if scrape_interval is None:
        scrape_interval = _scrape_interval(client.targets(), broker_label)
    return Layout(
        profile,
        labels,
        scrape_interval,
        cluster,
        brokers,
        coverage,
    )


def fetch_metrics(
    client: PrometheusClient,
    library: Library,
    layout: Layout,
    window: Window,
    signals: list[str] | None = None,
    brokers: list[str] | None = None,
    workers: int = 4,
) -> MetricsResult:
    """One range query per signal (all brokers at once); a failing signal is reported, not fatal."""
    profile = library.profile(layout.profile)
    chosen = [s for s in library.in_profile(layout.profile) if signals is None or s.id in signals]
    unknown = sorted(set(signals or []) - set(library.ids()))
    step = choose_step(window.seconds, layout.scrape_interval)
    range_seconds = rate_range(step, layout.scrape_interval)
    queries = {s.id: s.render(profile, layout.labels, layout.cluster, brokers, range_seconds) for s in chosen}
    scopes = {s.id: s.scope for s in chosen}

    down: list[SourceError] = []  # set once the server stops answering; later signals are not asked

    def one(signal_id: str):
        if down:
            return signal_id, None, down[0]
        try:
            series = client.query_range(queries[signal_id], window.start, window.end, step)
            return (
                signal_id,
                frame_from_series(series, signal_id, queries[signal_id], layout.labels, scopes[signal_id]),
                None,
            )
        except QueryRejected as exc:
            return signal_id, None, exc
        except SourceError as exc:
            if not down:
                down.append(exc)
            return signal_id, None, exc

    frames, empty, failed, lost = [], [], [], []
    if chosen:
        # The first query alone: an unreachable server then fails once, not once per signal.
        results = [one(chosen[0].id)]
        if down:
            raise down[0]
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results += list(pool.map(one, [s.id for s in chosen[1:]]))
        for signal_id, frame, error in results:
            if error is not None and not isinstance(error, QueryRejected):
                lost.append(signal_id)  # the server went away mid-pull: keep what came before
            elif error is not None:
                failed.append(f"{signal_id} ({error})")
            elif frame.empty:
                empty.append(signal_id)
            else:
                frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_metrics()
    # A sparse signal (samples only around an event) without data means "nothing happened".
    sparse = {s.id for s in chosen if s.sparse}
    quiet = [i for i in empty if i in sparse]
    empty = [i for i in empty if i not in sparse]
    report = _report(layout, chosen, empty, failed, unknown, lost, down[0] if down else None, quiet)
    return MetricsResult(frame, [report], step)


def _report(
    layout: Layout,
    chosen,
    empty: list[str],
    failed: list[str],
    unknown: list[str],
    lost: list[str] = (),
    down: SourceError | None = None,
    quiet: list[str] = (),
) -> SourceReport:
    missing = []
    if lost:
        said = str(down)
        if down is not None and down.query:
            said = said.replace(f" (query: {down.query})", "")
        missing.append(f"{said} -- so no data for {len(lost)} signals: " + ", ".join(lost))
    if empty:
        missing.append("no data for " + ", ".join(empty))
    if failed:
        missing.append("rejected: " + "; ".join(failed))
    if unknown:
        missing.append("unknown signals " + ", ".join(unknown))
    got = len(chosen) - len(empty) - len(failed) - len(lost) - len(quiet)
    if got == 0:
        status = "error" if failed or lost else "no_data"
    elif lost:
        status = "error"  # the server failed during the pull: what came before is kept, the rest is not there
    else:
        status = "partial" if missing else "ok"
    head = f"profile {layout.profile}, {got}/{len(chosen)} signals with data"
    if quiet:
        head += " (no events for " + ", ".join(quiet) + ")"
    return SourceReport("metrics", status, head + ("; " + "; ".join(missing) if missing else ""))


def _probe_metric(library: Library, profile: Profile) -> str | None:
    for signal_id in ("under_replicated_partitions", "leader_count", "broker_up"):
        try:
            names = sorted(library.signal(signal_id).metric_names(profile))
        except KeyError:
            continue
        if names:
            template = library.signal(signal_id).template(profile)
            # Keep fixed matchers such as name="UnderReplicatedPartitions" (no-rules profile).
            fixed = [m for m in _fixed_matchers(template)]
            return names[0] + "{" + ",".join(fixed) + "}" if fixed else names[0]
    return None


_APP_INFO = re.compile(r"^kafka_server_app_info_(?:client_)?id_(\d+)_start_time_ms$")


def _instance_map_from_app_info(client: PrometheusClient, names: list[str], window: Window) -> dict[str, str]:
    """{broker id: instance} from the app-info names (one series request), or {} if ambiguous."""
    wanted = sorted(n for n in names if _APP_INFO.match(n))[:64]
    if not wanted:
        return {}
    params = [("match[]", n) for n in wanted]
    params += [
        ("start", f"{utc(window.start).timestamp():.3f}"),
        ("end", f"{utc(window.end).timestamp():.3f}"),
    ]
    payload = client._get("/api/v1/series", params, "app-info names")
    mapping: dict[str, str] = {}
    for item in payload.get("data", []) if isinstance(payload, dict) else []:
        match = _APP_INFO.match(str(item.get("__name__", "")))
        instance = item.get("instance")
        if match and instance:
            if mapping.get(match.group(1), instance) != instance:
                return {}  # one broker id on two instances: do not guess
            mapping[match.group(1)] = instance
    return mapping if len(set(mapping.values())) == len(mapping) else {}


def _fixed_matchers(template: str) -> list[str]:

    return re.findall(r'[a-zA-Z_][a-zA-Z0-9_]*="[^"$]+"', template)


def _pick_label(series: list[dict[str, str]], candidates: Iterable[str], distinct: bool = True) -> str | None:
    for name in candidates:
        values = [s.get(name) for s in series]
        if values and all(values):
            if not distinct or len(set(values)) == len(values):
                return name
    return None


def _scrape_interval(targets: list[dict], broker_label: str) -> float:
    intervals = []
    for target in targets:
        if broker_label in (target.get("labels") or {}) and target.get("scrapeInterval"):
            intervals.append(_duration_seconds(target["scrapeInterval"]))
    return min(intervals) if intervals else 15.0


def _duration_seconds(text: str) -> float:
    try:
        return pd.Timedelta(text).total_seconds()
    except ValueError:
        return 15.0


def _broker_sort_key(value: str):
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def default_library() -> Library:
    return load_library()
