"""Answers recorded from the real stack (Prometheus 2.42, Loki 1.6.1), replayed by a local server."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.logql import LogLabels
from app.model import Window
from app.selectors import LabelConfig
from app.sources.base import QueryRejected
from app.sources.loki import LokiClient, entries_frame
from app.sources.prometheus import PrometheusClient, frame_from_series
from tests.unit.scripted_http import ScriptedServer

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
T0 = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)


def load(name):
    return json.loads((RECORDED / name).read_text())


def replay(name):
    data = load(name)
    if "status_code" in data:
        body = data["body"] if isinstance(data["body"], dict) else data["body"].encode()
        headers = {} if isinstance(data["body"], dict) else {"Content-Type": "text/plain"}
        return lambda m, p, q: (data["status_code"], body, dict(headers))
    return lambda m, p, q: (200, data, {})


def test_recorded_prometheus_matrix_becomes_a_tidy_frame():
    with ScriptedServer(replay("prometheus_query_range.json")) as server:
        series = PrometheusClient(server.url, timeout=5).query_range("q", T0, T0 + timedelta(minutes=1), 15)
    frame = frame_from_series(series, "leader_count", "q", LabelConfig(), "broker")
    assert sorted(frame["broker"].unique()) == ["1", "2", "3"]
    assert len(frame) == sum(len(s.points) for s in series) > 0
    assert '"cluster": "local"' in frame["labels"].iloc[0] and "__name__" not in frame["labels"].iloc[0]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("prometheus_bad_query.json", "unexpected end of input inside braces"),
        ("prometheus_too_many_points.json", "exceeded maximum resolution of 11,000 points"),
    ],
)
def test_recorded_prometheus_rejections_carry_the_servers_words(name, expected):
    with ScriptedServer(replay(name)) as server:
        with pytest.raises(QueryRejected, match=expected) as info:
            PrometheusClient(server.url, timeout=5).query_range("up{", T0, T0 + timedelta(minutes=1), 15)
    assert "up{" in str(info.value)


def test_recorded_loki_streams_become_a_log_frame():
    with ScriptedServer(replay("loki_query_range.json")) as server:
        entries, truncated, _ = LokiClient(server.url, timeout=5).query_range(
            '{broker="2"}', Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        )
    frame = entries_frame(entries, LogLabels())
    assert len(frame) == 5 and not truncated
    assert set(frame["broker"]) == {"2"}
    assert frame["line"].str.contains("QuorumController").all()


def test_recorded_loki_rejections_carry_the_servers_words():
    with ScriptedServer(replay("loki_bad_query.json")) as server:
        with pytest.raises(QueryRejected, match="syntax error"):
            LokiClient(server.url, timeout=5).query_range(
                '{broker="1"', Window(T0, T0 + timedelta(minutes=1))
            )
    # Loki 1.6.1's own words for a page above its limit: the client learns the limit from them.
    calls = []
    over = replay("loki_over_limit.json")

    def limited(method, path, params):
        calls.append(int(params["limit"][0]))
        if int(params["limit"][0]) > 5000:
            return over(method, path, params)
        return 200, {"status": "success", "data": {"resultType": "streams", "result": []}}, {}

    with ScriptedServer(limited) as server:
        client = LokiClient(server.url, timeout=5, page_limit=6000)
        assert client.query_range('{broker="1"}', Window(T0, T0 + timedelta(minutes=1)))[0] == []
    assert calls == [6000, 5000]
