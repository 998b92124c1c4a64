"""An MCP client from the SDK starts the server over stdio and calls every tool on a bundle."""

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.synthetic_bundle import make_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("mcp") / "synthetic_broker_down")


def _call_all(bundle: Path, calls: list[tuple[str, dict]]):
    async def go():
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "app", "mcp", "--bundle", str(bundle)], cwd=str(ROOT)
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            results = [await session.call_tool(name, args) for name, args in calls]
            return tools, results

    return anyio.run(go)


def _json(result) -> dict:
    return json.loads(result.content[0].text)


def test_every_tool_over_stdio(bundle):
    tools, results = _call_all(
        bundle,
        [
            ("list_clusters_and_brokers", {}),
            ("metric_snapshot", {"broker": "1", "signals": ["under_replicated_partitions"]}),
            ("pull_logs", {"classes": ["isr_shrink"], "limit": 5}),
            ("diagnose", {}),
            ("diagnose", {"broker": "9"}),
            ("metric_snapshot", {"from": "2026-11-01T12:10:00Z", "to": "2026-11-01T12:00:00Z"}),
        ],
    )
    names = {t.name for t in tools}
    assert {
        "list_clusters_and_brokers",
        "metric_snapshot",
        "pull_logs",
        "diagnose",
        "rules_for_incident",
    } <= names
    schema = next(t for t in tools if t.name == "metric_snapshot").input_schema
    assert "from" in schema["properties"] and "to" in schema["properties"]

    listing, snapshot, logs, diagnosis, bad_broker, bad_window = results
    assert _json(listing)["brokers"] == ["1", "2", "3"]
    urp = _json(snapshot)["signals"]
    assert [s["broker"] for s in urp] == ["1"]
    assert urp[0]["max"] == 12 and urp[0]["change_points"], urp
    pulled = _json(logs)
    assert pulled["counts"] == {"isr_shrink": 2} and len(pulled["events"]) == 2
    assert _json(diagnosis)["incident"]["status"] == "incident"
    assert "# " in _json(diagnosis)["note"]
    assert bad_broker.is_error and "known brokers: 1, 2, 3" in bad_broker.content[0].text
    assert bad_window.is_error and "swap" in bad_window.content[0].text
