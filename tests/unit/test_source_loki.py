from datetime import UTC, datetime, timedelta

import pytest

from app.logql import LogLabels, contains_any, line_filter, query, selector
from app.model import Window
from app.selectors import SelectorError
from app.sources.base import QueryRejected
from app.sources.http import RateLimited, make_session
from app.sources.loki import LokiClient, MalformedLokiResponse, fetch_logs
from tests.unit.scripted_http import ScriptedServer

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
T0_NS = int(T0.timestamp()) * 10**9
WINDOW = Window(T0, T0 + timedelta(minutes=10))


def make_entries(n, per_ns=3):
    # Three entries (two streams) share each nanosecond, so page boundaries cut through groups.
    return [
        (T0_NS + (i // per_ns) * 1_000_000, str(1 + i % 2), f"[line {i}] INFO something happened")
        for i in range(n)
    ]


def loki(entries, max_limit=5000):
    """Loki's query_range semantics: start inclusive, end exclusive, forward, at most `limit` entries."""

    def handler(method, path, params):
        if path != "/loki/api/v1/query_range":
            return 404, b"404 page not found", {"Content-Type": "text/plain"}
        start, end, limit = int(params["start"][0]), int(params["end"][0]), int(params["limit"][0])
        if limit > max_limit:
            return (
                400,
                (
                    f"max entries limit per query exceeded, limit > max_entries_limit_per_query "
                    f"({limit} > {max_limit})"
                ).encode(),
                {"Content-Type": "text/plain"},
            )
        assert params["direction"] == ["forward"]
        picked = [e for e in entries if start <= e[0] < end][:limit]
        streams = {}
        for ns, broker, line in picked:
            streams.setdefault(broker, []).append([str(ns), line])
        result = [
            {"stream": {"broker": b, "filename": f"/x/kafka-{b}/server.log"}, "values": v}
            for b, v in streams.items()
        ]
        return 200, {"status": "success", "data": {"resultType": "streams", "result": result}}, {}

    return handler


def test_more_than_one_page_comes_back_complete_without_duplicates():
    entries = make_entries(12_345)
    with ScriptedServer(loki(entries)) as server:
        client = LokiClient(server.url, timeout=5)
        result = fetch_logs(client, LogLabels(), WINDOW)
    frame = result.frame
    assert len(frame) == 12_345
    assert not frame.duplicated(["ts", "broker", "line"]).any()
    assert set(frame["line"]) == {e[2] for e in entries}
    assert frame["ts"].is_monotonic_increasing
    assert result.truncated is False and result.reports[0].status == "ok"
    assert client.queries_sent == 3  # 5000 + 5000 + the rest
    assert all(int(p["limit"][0]) <= 5000 for _, _, p in server.requests)


def test_the_cap_truncates_and_says_so():
    with ScriptedServer(loki(make_entries(9_000))) as server:
        result = fetch_logs(
            LokiClient(server.url, timeout=5, page_limit=2000), LogLabels(), WINDOW, max_lines=3000
        )
    assert len(result.frame) == 3000
    assert result.truncated is True
    assert result.reports[0].status == "partial" and "cap of 3000" in result.reports[0].message


def test_a_page_full_of_one_nanosecond_is_stepped_over_and_reported():
    entries = [(T0_NS, "1", f"same ns {i}") for i in range(30)] + [(T0_NS + 5, "1", "later")]
    with ScriptedServer(loki(entries, max_limit=10)) as server:
        result = fetch_logs(LokiClient(server.url, timeout=5, page_limit=10), LogLabels(), WINDOW)
    assert "later" in set(result.frame["line"])
    assert result.reports[0].status == "partial" and "share timestamp" in result.reports[0].message


def test_a_server_with_a_lower_entry_limit_is_paged_at_its_limit():
    entries = make_entries(2_500)
    with ScriptedServer(loki(entries, max_limit=1000)) as server:
        client = LokiClient(server.url, timeout=5)
        lines, truncated, _ = client.query_range('{broker=~".+"}', WINDOW)
    assert len(lines) == 2_500 and not truncated
    assert client.page_limit == 1000
    assert [int(p["limit"][0]) for _, _, p in server.requests][:2] == [5000, 1000]


def test_a_rejected_logql_shows_lokis_message_and_the_query():
    def bad(method, path, params):
        return 400, b"parse error at line 1, col 2: syntax error", {"Content-Type": "text/plain"}

    with ScriptedServer(bad) as server:
        with pytest.raises(QueryRejected, match="syntax error") as info:
            LokiClient(server.url, timeout=5).query_range('{broker=~".+"} |~ "("', WINDOW)
    assert '{broker=~".+"}' in str(info.value)


def test_429_is_retried_with_backoff_then_succeeds():
    calls = []
    ok = loki(make_entries(5))

    def limited(method, path, params):
        calls.append(path)
        if len(calls) <= 2:
            return 429, b"too many outstanding requests", {"Content-Type": "text/plain", "Retry-After": "0"}
        return ok(method, path, params)

    with ScriptedServer(limited) as server:
        client = LokiClient(server.url, timeout=5, session=make_session(retries=3, backoff=0.01))
        entries, truncated, _ = client.query_range('{broker="1"}', WINDOW)
    assert len(entries) == 5 and not truncated and len(calls) == 3


def test_persistent_429_is_a_clear_rate_limit_error():
    def always(method, path, params):
        return 429, b"too many outstanding requests", {"Content-Type": "text/plain", "Retry-After": "0"}

    with ScriptedServer(always) as server:
        client = LokiClient(server.url, timeout=5, session=make_session(retries=1, backoff=0.01))
        with pytest.raises(RateLimited, match="rate limiting us \\(HTTP 429\\).*too many outstanding"):
            client.query_range('{broker="1"}', WINDOW)


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "success", "data": {"resultType": "matrix", "result": []}},
        {
            "status": "success",
            "data": {"resultType": "streams", "result": [{"stream": {}, "values": [["x", "y"]]}]},
        },
        {"status": "fail"},
        b"not json",
    ],
)
def test_malformed_loki_answers_are_clear_errors(payload):
    with ScriptedServer(lambda m, p, q: (200, payload, {})) as server:
        with pytest.raises(MalformedLokiResponse):
            LokiClient(server.url, timeout=5).query_range('{broker="1"}', WINDOW)


def test_selectors_and_filters_escape_untrusted_values():
    labels = LogLabels(cluster_label="cluster")
    sel = selector(labels, cluster='a"b', brokers=["1", "2|.*"], files=["server.log"])
    assert sel == '{cluster="a\\"b", broker=~"1|2\\\\|\\\\.\\\\*", filename=~".*/(server\\\\.log)"}'
    assert query('{broker="1"}', [("|=", 'say "hi"\\')]) == '{broker="1"} |= "say \\"hi\\"\\\\"'
    assert query('{broker="1"}', [contains_any(["ISR", "a.b"])]) == '{broker="1"} |~ "ISR|a\\\\.b"'
    with pytest.raises(SelectorError, match="not one of"):
        line_filter("|>", "x")
    with pytest.raises(SelectorError, match="does not compile"):
        line_filter("|~", "(")
    with pytest.raises(SelectorError, match="not a valid label name"):
        LogLabels(broker_label="broker id")


def test_stream_catalog_gives_a_selector_per_log_family(tmp_path):
    from app.logql import load_streams

    catalog = load_streams()
    assert {"server", "controller", "state_change", "gc"} <= set(catalog.files)
    sel = catalog.selector("controller", cluster="local", brokers=["2"])
    assert sel == '{cluster="local", broker="2", filename=~".*/(controller\\\\.log)"}'
    assert catalog.selector() == '{broker=~".+"}'
    with pytest.raises(SelectorError, match="unknown log family 'nope'"):
        catalog.selector("nope")
    (tmp_path / "s.yaml").write_text("labels: {broker: b, colour: red}\n")
    with pytest.raises(SelectorError, match="colour"):
        load_streams(tmp_path / "s.yaml")


def test_live_logs_use_lokis_own_labels_when_they_differ_from_prometheus():
    from app.sources.live import LiveSource
    from tests.unit.test_source_prometheus import healthy

    seen = []

    def loki_without_cluster(method, path, params):
        if path == "/loki/api/v1/labels":
            return 200, {"status": "success", "data": ["filename", "host", "job"]}, {}
        seen.append(params["query"][0])
        return loki(make_entries(3))(method, path, params)

    with ScriptedServer(healthy) as prom, ScriptedServer(loki_without_cluster) as lokisrv:
        source = LiveSource(prom.url, loki_url=lokisrv.url)
        assert source.layout().labels.cluster_label == "cluster"  # Prometheus has it
        source.logs(WINDOW)
    assert seen == ['{host=~".+"}']  # Loki's broker-ish label, and no cluster matcher it lacks
