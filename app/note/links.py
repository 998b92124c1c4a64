"""Grafana Explore links for a query over the incident's window (only when Grafana is configured)."""

from __future__ import annotations

import json
from urllib.parse import quote

from app.model import Window


def explore_url(grafana_url: str, datasource_uid: str | None, query: str, window: Window) -> str:
    """`<grafana>/explore?...` opening `query` on `datasource_uid` over `window` (epoch ms)."""
    start_ms = int(window.start.timestamp() * 1000)
    end_ms = int(window.end.timestamp() * 1000)
    target: dict = {"refId": "A", "expr": query}
    pane: dict = {"queries": [target], "range": {"from": str(start_ms), "to": str(end_ms)}}
    if datasource_uid:
        pane["datasource"] = datasource_uid
        target["datasource"] = {"uid": datasource_uid}
    panes = json.dumps({"a": pane}, separators=(",", ":"), sort_keys=True)
    # Parentheses and spaces are escaped too, so the link survives markdown link syntax.
    return f"{grafana_url.rstrip('/')}/explore?schemaVersion=1&orgId=1&panes={quote(panes, safe='')}"
