"""MCP server: the same diagnosis an SRE gets in the browser, as tools for agents.

Every tool is a thin wrapper over `app.service`; arguments default to the source's
whole window and all brokers, so `diagnose` with no arguments diagnoses a bundle.
Bad input and source failures become tool errors carrying our message (the SDK hides
the text of any other exception from the client).
"""

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from app import service
from app.model import to_jsonable
from app.sources.base import Source, SourceError

Broker = Annotated[str | None, Field(description="broker id (e.g. '2') or 'all'; default all brokers")]
From = Annotated[
    str | None,
    Field(
        alias="from",
        description="window start: ISO-8601, epoch s/ms, or now-6h; default: the source's window",
    ),
]
To = Annotated[
    str | None, Field(description="window end: ISO-8601, epoch s/ms, or now; default: the source's window")
]

INSTRUCTIONS = (
    "Kafka Incident Lens diagnoses Kafka incidents from Prometheus metrics and broker logs. "
    "Start with diagnose (what happened, ranked causes with evidence ids and verification queries). "
    "Use metric_snapshot and pull_logs to look closer at one broker or signal, "
    "list_clusters_and_brokers to see what exists, "
    "rules_for_incident for alert rules that would have caught it."
)


def build_server(source: Source):
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("kafka-incident-lens", instructions=INSTRUCTIONS)

    def list_clusters_and_brokers() -> dict[str, Any]: ...

    def metric_snapshot(
        broker: Broker = None,
        from_: From = None,
        to: To = None,
        signals: Annotated[list[str] | None, Field(description="signal ids to include; default all")] = None,
        include_series: Annotated[bool, Field(description="also return sampled raw points")] = False,
        max_points: Annotated[int, Field(description="cap on raw points per series (≤2000)")] = 200,
    ) -> dict[str, Any]: ...

    def pull_logs(
        broker: Broker = None,
        from_: From = None,
        to: To = None,
        classes: Annotated[
            list[str] | None, Field(description="event classes to keep, e.g. ['isr_shrink','broker_fenced']")
        ] = None,
        limit: Annotated[int, Field(description="max events returned (≤2000); counts cover all")] = 200,
    ) -> dict[str, Any]: ...

    def diagnose(broker: Broker = None, from_: From = None, to: To = None) -> dict[str, Any]: ...

    def rules_for_incident(broker: Broker = None, from_: From = None, to: To = None) -> dict[str, Any]: ...

    def do_snapshot(**kw: Any) -> dict[str, Any]:
        return service.metric_snapshot(
            source,
            kw.get("from"),
            kw.get("to"),
            kw.get("broker"),
            kw.get("signals"),
            kw.get("include_series", False),
            kw.get("max_points", 200),
        )

    def do_logs(**kw: Any) -> dict[str, Any]:
        return service.pull_logs(
            source, kw.get("from"), kw.get("to"), kw.get("broker"), kw.get("classes"), kw.get("limit", 200)
        )

    def do_diagnose(**kw: Any) -> dict[str, Any]:
        diagnosis = service.diagnose_window(source, kw.get("from"), kw.get("to"), kw.get("broker"))
        return {"incident": to_jsonable(diagnosis.incident), "note": service.note_for(diagnosis.incident)}

    def do_rules(**kw: Any) -> dict[str, Any]:
        diagnosis = service.diagnose_window(source, kw.get("from"), kw.get("to"), kw.get("broker"))
        return service.incident_rules(diagnosis)

    _register(
        server,
        "list_clusters_and_brokers",
        list_clusters_and_brokers,
        lambda **kw: service.clusters_and_brokers(source),
        "List the cluster and broker ids this server can see, and the default time window. "
        "Call first when you do not know the broker ids.",
    )
    _register(
        server,
        "metric_snapshot",
        metric_snapshot,
        do_snapshot,
        "Compact per-signal, per-broker summaries (min/max/mean/last) and detected change points for a "
        "window. Use to check one signal or broker after diagnose; raw points only with include_series.",
    )
    _register(
        server,
        "pull_logs",
        pull_logs,
        do_logs,
        "Classified Kafka broker log events (class, severity, broker, topic-partition, group, ISR "
        "from/to, the line) for a window, optionally filtered by event class. Use to read the log "
        "evidence behind a hypothesis.",
    )
    _register(
        server,
        "diagnose",
        diagnose,
        do_diagnose,
        "Diagnose a window: status incident|quiet, when it started, ranked hypotheses with "
        "confidence, evidence ids, verification PromQL/LogQL and suggested actions, plus the "
        "markdown incident note. With no arguments it diagnoses the whole source window.",
    )
    _register(
        server,
        "rules_for_incident",
        rules_for_incident,
        do_rules,
        "Prometheus alert rules (YAML) that would have caught the diagnosed incident, with a promtool "
        "unit test built from the recorded series.",
    )
    return server


def _register(server, name: str, template: Callable, impl: Callable[..., dict], description: str) -> None:
    """Publish `impl(**kw)` with the schema of `template` (whose `from_` is published as `from`).

    A source failure becomes a tool error naming the source, like the CLI's one-line message.
    """

    from mcp.server.mcpserver.exceptions import ToolError

    def call(**kw: Any) -> dict:
        try:
            return impl(**kw)
        except service.BadRequest as exc:
            raise ToolError(str(exc)) from None
        except SourceError as exc:
            raise ToolError(f"source failed: {exc}") from None

    call.__signature__ = inspect.signature(template)  # type: ignore[attr-defined]
    call.__annotations__ = dict(template.__annotations__)
    call.__name__ = name
    server.tool(name=name, description=description)(call)
