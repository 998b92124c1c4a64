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
    """The signal's PromQL narrowed to `broker`, else the query the data was fetched with."""
    reference = available.get(signal, "")
    rendered = _library_promql(signal, broker, cluster, reference) if broker else None
    return rendered or reference


def logql(pack: Pack, event_class: str, broker: str | None, cluster: str, sample: str = "") -> str:
    """LogQL selecting the class's lines on `broker` (all brokers when None).

    The pack's line filter is used when it matches a real line of the class (`sample`); otherwise
    a literal phrase of that line, so the query is known to select what the evidence saw.
    """
    rendered = _library_logql(event_class, broker, cluster)
    if rendered:
        return rendered
    stream = _selector(cluster, broker)
    pattern = pack.log_filters.get(event_class, "")
    if sample and (not pattern or not re.search(pattern, sample)):
        phrase = _phrase(sample)
        return f'{stream} |= "{escape_label(phrase)}"' if phrase else stream
    return f'{stream} |~ "{escape_label(pattern)}"' if pattern else stream


def _phrase(line: str) -> str:
    """The longest run of plain words in a line (no digits, ids or punctuation): its template."""
    runs = re.findall(r"[A-Za-z][A-Za-z ]{6,}[A-Za-z]", line)
    return max(runs, key=len).strip() if runs else ""


def _selector(cluster: str, broker: str | None) -> str:
    try:
        from app.logql import LogLabels, selector
    except ImportError:
        return "{" + (f'broker="{escape_label(broker)}"' if broker else 'broker=~".+"') + "}"
    return selector(LogLabels(), cluster or None, [broker] if broker else None)


def _library_promql(signal: str, broker: str, cluster: str, reference: str) -> str | None:
    """The library's PromQL for one broker, in the naming profile that produced `reference`.

    The profile is recognised by rendering the all-broker query in each profile and comparing it
    with the query the data was actually fetched with; no exact match means no narrowing (the
    reference query is known to return data, a guessed one is not).
    """
    try:
        from app.signals import load_library
    except ImportError:
        return None
    try:
        library = load_library()
        spec = library.signal(signal)
    except Exception:  # noqa: BLE001 - narrowing is optional; the recorded query still answers
        return None
    want = " ".join(reference.split())
    found = re.search(r"\[(\d+)s\]", want)
    range_s = float(found.group(1)) if found else 60.0
    for name in sorted(library.profiles):
        for label_cluster in (cluster, None):
            try:
                whole = spec.render(library.profile(name), None, label_cluster, None, range_s)
                if " ".join(whole.split()) == want:
                    return spec.render(library.profile(name), None, label_cluster, [broker], range_s)
            except (KeyError, ValueError, TypeError):
                continue
    return None


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
