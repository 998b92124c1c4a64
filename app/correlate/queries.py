"""Verification queries a human re-runs: PromQL for signals, LogQL for event classes.

PromQL comes from the signal library (promql_library/ through app.signals) with the broker
selector filled in when that library is present; otherwise it is the query the data was actually
fetched with (the bundle's or source's `query` column), which is known to return data for this
window. LogQL comes from loki_queries/ through the taxonomy when present, else from the pack's
`log_filters`. Label values are escaped: they are untrusted.
"""

from __future__ import annotations

import re

from app.correlate.rules import Pack


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_regex_literal(value: str) -> str:
    return escape_label(re.escape(value))


def signals_for(pack: Pack, role: str, available: dict[str, str]) -> list[str]:
    """Signal ids present in the data that play `role` (or are `role`), sorted."""
    return sorted(s for s in available if role in pack.roles_of(s))


def promql(signal: str, broker: str | None, cluster: str, available: dict[str, str]) -> str:
    rendered = _library_promql(signal, broker, cluster)
    return rendered or available.get(signal, "")


def logql(pack: Pack, event_class: str, broker: str | None, cluster: str) -> str:
    rendered = _library_logql(event_class, broker, cluster)
    if rendered:
        return rendered
    labels = []
    if cluster:
        labels.append(f'cluster="{escape_label(cluster)}"')
    labels.append(f'broker="{escape_label(broker)}"' if broker else 'broker=~".+"')
    selector = "{" + ", ".join(labels) + "}"
    pattern = pack.log_filters.get(event_class)
    return f'{selector} |~ "{escape_label(pattern)}"' if pattern else selector


def _library_promql(signal: str, broker: str | None, cluster: str) -> str | None:
    """app.signals when the sources helper's library is installed; None otherwise."""
    try:
        from app import signals as library  # noqa: PLC0415 - optional, owned by the sources stage
    except ImportError:
        return None
    render = getattr(library, "render", None) or getattr(library, "render_query", None)
    if render is None:
        return None
    try:
        text = render(signal, broker=broker, cluster=cluster)
    except (KeyError, ValueError, TypeError, LookupError):
        return None
    return text if isinstance(text, str) and text else None


def _library_logql(event_class: str, broker: str | None, cluster: str) -> str | None:
    try:
        from app import taxonomy  # noqa: PLC0415
    except ImportError:
        return None
    render = getattr(taxonomy, "logql_for", None)
    if render is None:
        return None
    try:
        text = render(event_class, broker=broker, cluster=cluster)
    except (KeyError, ValueError, TypeError, LookupError):
        return None
    return text if isinstance(text, str) and text else None
