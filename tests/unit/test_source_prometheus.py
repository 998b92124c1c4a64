import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.model import Window
from app.signals import load_library
from app.sources.base import QueryRejected, SourceUnavailable
from app.sources.http import make_session
from app.sources.live import LiveSource
from app.sources.prometheus import (
    MAX_POINTS,
    MalformedResponse,
    PrometheusClient,
    choose_step,
    parse_matrix,
)
from tests.unit.scripted_http import ScriptedServer

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(minutes=30))


def _jmx_names():
    lib = load_library()
    profile = lib.profile("jmx_kafka")
    return sorted(
        set().union(*(s.metric_names(profile) for s in lib.in_profile("jmx_kafka"))) | {"go_goroutines"}
    )


def _matrix(series):
    return {"status": "success", "data": {"resultType": "matrix", "result": series}}


def healthy(method, path, params):
    if path == "/api/v1/label/__name__/values":
        return 200, {"status": "success", "data": _jmx_names()}, {}
    if path == "/api/v1/series":
        return (
            200,
            {
                "status": "success",
                "data": [
                    {
                        "__name__": "kafka_server_replicamanager_underreplicatedpartitions",
                        "broker": b,
                        "cluster": "local",
                        "instance": f"127.0.0.1:1{b}094",
                        "job": "kafka",
                    }
                    for b in ("1", "2", "3")
                ],
            },
            {},
        )
    if path == "/api/v1/targets":
        return (
            200,
            {
                "status": "success",
                "data": {
                    "activeTargets": [{"labels": {"broker": "1", "job": "kafka"}, "scrapeInterval": "5s"}]
                },
            },
            {},
        )
    if path == "/api/v1/status/buildinfo":
        return 200, {"status": "success", "data": {"version": "2.42.0"}}, {}
    if path == "/api/v1/query_range":
        query = params["query"][0]
        start, end, step = (float(params[k][0]) for k in ("start", "end", "step"))
        points = [[start + i * step, str(i % 3)] for i in range(int((end - start) / step) + 1)]
        points[2][1] = "NaN"  # 0/0 in a ratio: dropped, not an error
        if "consumergroup" in query:
            return 200, _matrix([{"metric": {"consumergroup": "g1"}, "values": points}]), {}
        return (
            200,
            _matrix([{"metric": {"broker": b, "cluster": "local"}, "values": points} for b in "123"]),
            {},
        )
    return 404, {"status": "error", "error": "not found"}, {}


def test_live_pull_detects_profile_labels_and_sends_one_query_per_signal():
    with ScriptedServer(healthy) as server:
        source = LiveSource(server.url)
        assert source.brokers() == ["1", "2", "3"]
        assert source.cluster() == "local"
        layout = source.layout()
        assert (layout.profile, layout.labels.broker_label, layout.labels.cluster_label) == (
            "jmx_kafka",
            "broker",
            "cluster",
        )
        assert layout.scrape_interval == 5.0
        before = len(server.requests)
        result = source.metrics(WINDOW)
        ranges = [r for r in server.requests[before:] if r[1] == "/api/v1/query_range"]
    signals = load_library().in_profile("jmx_kafka")
    assert len(ranges) == len(signals) == len(server.requests) - before  # one query per signal, no more
    queries = {r[2]["query"][0] for r in ranges}
    assert all('cluster="local"' in q for q in queries)
    assert not any('broker="' in q for q in queries)  # all brokers in one query
    assert result.reports[0].status == "ok", result.reports[0].message
    frame = result.frame
    assert set(frame["signal"]) == {s.id for s in signals}
    urp = frame[frame["signal"] == "under_replicated_partitions"]
    assert sorted(urp["broker"].unique()) == ["1", "2", "3"]
    lag = frame[frame["signal"] == "consumer_lag_sum"]
    assert lag["broker"].isna().all() and '"consumergroup": "g1"' in lag["labels"].iloc[0]
    assert not frame["value"].isna().any()
    assert frame["ts"].min() >= WINDOW.start and frame["ts"].max() <= WINDOW.end


@pytest.mark.parametrize("seconds", [60, 3600, 86400, 8 * 86400, 60 * 86400])
def test_step_keeps_every_series_under_the_point_limit(seconds):
    step = choose_step(seconds, scrape_interval=5)
    assert step >= 5
    assert seconds / step < MAX_POINTS
    assert seconds / step <= 1500 or step == 5


def test_a_rejected_query_shows_the_promql_and_prometheus_message():
    def bad(method, path, params):
        return 400, {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'}, {}

    with ScriptedServer(bad) as server:
        client = PrometheusClient(server.url, timeout=2)
        with pytest.raises(QueryRejected) as info:
            client.query_range("up{", T0, T0 + timedelta(minutes=5), 15)
    text = str(info.value)
    assert "up{" in text and 'unexpected "}"' in text and server.url in text


def test_one_rejected_signal_makes_the_pull_partial_not_failed():
    def some_bad(method, path, params):
        if path == "/api/v1/query_range" and "isrshrinks" in params["query"][0]:
            return 422, {"status": "error", "errorType": "execution", "error": "many-to-many matching"}, {}
        return healthy(method, path, params)

    with ScriptedServer(some_bad) as server:
        result = LiveSource(server.url).metrics(WINDOW)
    report = result.reports[0]
    assert report.status == "partial"
    assert "isr_shrink_rate" in report.message and "many-to-many" in report.message
    assert "isr_shrink_rate" not in set(result.frame["signal"])
    assert "under_replicated_partitions" in set(result.frame["signal"])


def test_unreachable_server_fails_fast_with_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = PrometheusClient(
        f"http://127.0.0.1:{port}", timeout=2, session=make_session(retries=1, backoff=0.01)
    )
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=f"cannot connect to http://127.0.0.1:{port}"):
        client.label_values("__name__")
    assert time.monotonic() - started < 5


def test_slow_server_times_out_with_a_clear_message():
    def slow(method, path, params):
        time.sleep(1.5)
        return healthy(method, path, params)

    with ScriptedServer(slow) as server:
        client = PrometheusClient(server.url, timeout=0.3, session=make_session(retries=0))
        with pytest.raises(SourceUnavailable, match=r"within 0.3 s \(timed out\)"):
            client.query_range("up", T0, T0 + timedelta(minutes=5), 15)


def test_5xx_is_retried_then_succeeds():
    calls = []

    def flaky(method, path, params):
        calls.append(path)
        if len(calls) == 1:
            return 503, {"status": "error", "error": "overloaded"}, {}
        return 200, _matrix([]), {}

    with ScriptedServer(flaky) as server:
        client = PrometheusClient(server.url, timeout=2, session=make_session(retries=2, backoff=0.01))
        assert client.query_range("up", T0, T0 + timedelta(minutes=5), 15) == []
    assert len(calls) == 2


def test_persistent_5xx_names_the_status_and_message():
    with ScriptedServer(lambda m, p, q: (503, {"status": "error", "error": "overloaded"}, {})) as server:
        client = PrometheusClient(server.url, timeout=2, session=make_session(retries=1, backoff=0.01))
        with pytest.raises(SourceUnavailable, match="HTTP 503: overloaded"):
            client.query_range("up", T0, T0 + timedelta(minutes=5), 15)


def test_auth_failure_says_so():
    with ScriptedServer(lambda m, p, q: (401, b"Unauthorized", {"Content-Type": "text/plain"})) as server:
        with pytest.raises(SourceUnavailable, match="refused our credentials"):
            PrometheusClient(server.url, timeout=2).label_values("__name__")


@pytest.mark.parametrize(
    "payload",
    [
        b"<html>proxy error</html>",
        {"status": "success"},
        {
            "status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [["x"]]}]},
        },
        {"status": "success", "data": {"resultType": "streams", "result": []}},
    ],
)
def test_malformed_answers_are_clear_errors(payload):
    with ScriptedServer(lambda m, p, q: (200, payload, {})) as server:
        with pytest.raises(MalformedResponse) as info:
            PrometheusClient(server.url, timeout=2).query_range("up", T0, T0 + timedelta(minutes=5), 15)
    assert "up" in str(info.value)


def test_parse_matrix_rejects_error_status_without_http_error():
    with pytest.raises(QueryRejected, match="bad_data: oops"):
        parse_matrix({"status": "error", "errorType": "bad_data", "error": "oops"}, "up")


def test_no_kafka_metrics_at_all_is_a_clear_error():
    def empty(method, path, params):
        if path == "/api/v1/label/__name__/values":
            return 200, {"status": "success", "data": ["go_goroutines", "up"]}, {}
        return healthy(method, path, params)

    with ScriptedServer(empty) as server:
        with pytest.raises(SourceUnavailable, match="none of the library's Kafka metric names"):
            LiveSource(server.url).brokers()


def test_profile_override_skips_detection_and_unknown_profile_fails_early():
    with ScriptedServer(healthy) as server:
        source = LiveSource(server.url, profile="strimzi")
        assert source.layout().profile == "strimzi"
        assert "/api/v1/label/__name__/values" not in server.paths()
    with pytest.raises(KeyError, match="unknown metric-naming profile 'nope'"):
        LiveSource("http://127.0.0.1:9", profile="nope")


def test_without_a_broker_label_instances_are_mapped_to_broker_ids():
    instances = {"1": "10.0.0.1:7071", "2": "10.0.0.2:7071", "3": "10.0.0.3:7071"}
    app_info = [f"kafka_server_app_info_client_id_{b}_start_time_ms" for b in instances]

    def by_instance(method, path, params):
        if path == "/api/v1/label/__name__/values":
            return 200, {"status": "success", "data": _jmx_names() + app_info}, {}
        if path == "/api/v1/series" and any("app_info" in m for m in params["match[]"]):
            assert sorted(params["match[]"]) == sorted(app_info)  # one request for all of them
            return (
                200,
                {
                    "status": "success",
                    "data": [
                        {
                            "__name__": f"kafka_server_app_info_client_id_{b}_start_time_ms",
                            "instance": i,
                            "job": "kafka",
                        }
                        for b, i in instances.items()
                    ],
                },
                {},
            )
        if path == "/api/v1/series":
            return (
                200,
                {
                    "status": "success",
                    "data": [
                        {
                            "__name__": "kafka_server_replicamanager_underreplicatedpartitions",
                            "instance": i,
                            "job": "kafka",
                        }
                        for i in instances.values()
                    ],
                },
                {},
            )
        if path == "/api/v1/query_range":
            start = float(params["start"][0])
            return (
                200,
                _matrix([{"metric": {"instance": i}, "values": [[start, "1"]]} for i in instances.values()]),
                {},
            )
        return healthy(method, path, params)

    with ScriptedServer(by_instance) as server:
        source = LiveSource(server.url)
        assert source.brokers() == ["1", "2", "3"]
        assert source.layout().labels.broker_label == "instance"
        result = source.metrics(WINDOW, signals=["under_replicated_partitions"])
        query = [r for r in server.requests if r[1] == "/api/v1/query_range"][-1][2]["query"][0]
        assert 'instance=~"10\\\\.0\\\\.0\\\\.1:7071|' in query  # the brokers' instances, not every target
        assert sorted(result.frame["broker"]) == ["1", "2", "3"]
        subset = (
            load_library()
            .signal("broker_up")
            .render(load_library().profile("jmx_kafka"), source.layout().labels, None, ["2"])
        )
        assert 'instance="10.0.0.2:7071"' in subset


def test_instance_map_can_be_given_and_bad_entries_are_refused():
    from app.sources.live import parse_instance_map

    assert parse_instance_map("1=a:1, 2=b:2") == {"1": "a:1", "2": "b:2"}
    with pytest.raises(ValueError, match="BROKER=INSTANCE"):
        parse_instance_map("1:a")


def test_the_bearer_token_comes_from_the_environment_and_never_shows_in_errors(monkeypatch):
    monkeypatch.setenv("LENS_PROMETHEUS_TOKEN", "s3cret-token")
    with ScriptedServer(lambda m, p, q: (401, b"bad token", {"Content-Type": "text/plain"})) as server:
        with pytest.raises(SourceUnavailable) as info:
            PrometheusClient(server.url, timeout=2).label_values("__name__")
    assert server.headers[0]["Authorization"] == "Bearer s3cret-token"
    assert "s3cret" not in str(info.value)
