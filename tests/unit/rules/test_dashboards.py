"""Dashboards validated offline: SDK round trip, variables, data links, every expression parses."""

from __future__ import annotations

import json
import re

import promql_parser
import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from app.rules import generate
from app.rules.dashboards import APP_LINK, BOARDS
from app.signals import load_library

FILES = sorted((generate.REPO / "grafana" / "dashboards").glob("*.json"))


def concrete(expr: str) -> str:
    """Replace dashboard variables with values a real query would carry."""
    return expr.replace("$cluster", ".*").replace("$broker", ".*")


def test_four_dashboards_are_committed():
    assert {f.stem for f in FILES} == {b.uid for b in BOARDS}
    assert len(FILES) == 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_round_trips_through_the_sdk(path):
    register_default_plugins()
    data = json.loads(path.read_text())
    model = Dashboard.from_json(data)
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == data


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_variables_links_and_queries(path):
    data = json.loads(path.read_text())
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert {"cluster", "broker", "app_url", "datasource"} <= set(variables)
    assert variables["app_url"]["type"] == "textbox"
    panels = [p for p in data["panels"] if p["type"] == "timeseries"]
    assert panels
    library_ids = set(load_library().ids())
    for panel in panels:
        links = panel["fieldConfig"]["defaults"]["links"]
        assert [link["url"] for link in links] == [APP_LINK]
        assert "${__from}" in APP_LINK and "${__to}" in APP_LINK and "broker=${broker}" in APP_LINK
        assert panel["title"].replace(" ", "_") in library_ids
        for target in panel["targets"]:
            expr = target["expr"]
            assert 'cluster=~"$cluster"' in expr
            promql_parser.parse(concrete(expr))
            assert re.match(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\{", expr), "panels chart recorded series"


def test_panel_counts():
    counts = {f.stem: len(json.loads(f.read_text())["panels"]) for f in FILES}
    assert all(n >= 4 for n in counts.values()), counts
