"""The page's panels: each takes results from the core and draws them; no logic the CLI lacks.

Data text (log lines, label values, queries) is shown through `st.code`, `st.dataframe` or
escaped plotly hover text, never as HTML.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from app import service
from app.bundle import GroundTruth, read_ground_truth
from app.model import Incident, iso
from app.pipeline import Diagnosis
from app.sources.base import SourceError
from app.ui import state
from app.ui.charts import Mark, signal_figure, timeline_figure
from app.ui.state import LiveSettings, bundle_brokers, live_brokers


def live_settings_form(env: LiveSettings | None, params) -> LiveSettings | None:
    """Sidebar fields for live servers, prefilled from the environment or the URL."""
    prometheus = st.sidebar.text_input(
        "Prometheus URL", params.get("prometheus", env.prometheus if env else "")
    )
    loki = st.sidebar.text_input("Loki URL (optional)", params.get("loki", (env.loki or "") if env else ""))
    bootstrap = st.sidebar.text_input(
        "Kafka bootstrap servers (optional)", (env.bootstrap or "") if env else "", help="host:port,host:port"
    )
    cluster = st.sidebar.text_input(
        "Cluster label (optional)", params.get("cluster", (env.cluster or "") if env else "")
    )
    if not prometheus.strip():
        return None
    settings = LiveSettings(
        prometheus.strip(), loki.strip() or None, cluster.strip() or None, bootstrap.strip() or None
    )
    if st.sidebar.button("Check connection"):
        with st.sidebar:
            with st.spinner("Checking…"):
                try:
                    found = service.check_connection(settings.prometheus, settings.loki, settings.bootstrap)
                except (SourceError, service.BadRequest) as exc:
                    st.error(str(exc))
                else:
                    st.success("Connected")
                    st.json(found)
    return settings


def choose_source(params, env_live: LiveSettings | None, bundles: dict[str, Path]):
    """Sidebar: a recorded bundle or live servers; returns (bundle name, live settings, broker ids)."""
    modes = ["Recorded incidents", "Live servers"]
    default_mode = 1 if (env_live or "prometheus" in params) and "bundle" not in params else 0
    mode = st.sidebar.radio("Data", modes, index=default_mode, horizontal=True)

    settings: LiveSettings | None = None
    chosen: str | None = None
    if mode == modes[0]:
        if not bundles:
            st.error(
                "No sample bundles under samples/. "
                "Record one with `python -m stack record quiet --out samples/quiet`."
            )
            st.stop()
        names = list(bundles)
        wanted = params.get("bundle")
        chosen = st.sidebar.selectbox(
            "Recorded incident", names, index=names.index(wanted) if wanted in names else 0
        )
        brokers, _ = bundle_brokers(str(bundles[chosen]))
    else:
        settings = live_settings_form(env_live, params)
        if settings is None:
            st.info("Enter a Prometheus URL in the sidebar (or set PROMETHEUS_URL) to diagnose live servers.")
            st.stop()
        try:
            brokers = live_brokers(settings)
        except (SourceError, ValueError) as exc:  # ValueError: a URL without http:// and the like
            st.error(f"Cannot list brokers: {exc}")
            st.stop()
    return chosen, settings, brokers


def source_messages(incident: Incident) -> None:
    """Say what is missing next to whatever partial result we have."""
    for report in incident.sources:
        if report.status == "error":
            st.error(f"{report.source}: {report.message}")
        elif report.status in ("partial", "no_data"):
            st.warning(f"{report.source}: {report.message or report.status}")
    for line in incident.missing:
        st.warning(f"Missing: {line}")


def summary(incident: Incident) -> None:
    if incident.status == "quiet":
        failed = [r.source for r in incident.sources if r.status in ("error", "no_data")]
        if failed:  # not a clean bill of health: part of the evidence could not be read or is empty
            st.warning(f"Inconclusive (no {' and no '.join(failed)} to check): {incident.summary}")
        else:
            st.success(f"Quiet: {incident.summary}")
        return
    started = f" · started at **{iso(incident.started_at)}**" if incident.started_at else ""
    st.error(f"Incident: {incident.summary}{started}")
    rows = [
        {
            "rank": rank,
            "cause": h.cause,
            "confidence": f"{h.confidence:.0%}",
            "brokers": ", ".join(h.brokers),
            "evidence": ", ".join(h.evidence),
            "summary": h.summary,
        }
        for rank, h in enumerate(incident.hypotheses, start=1)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    for rank, hypothesis in enumerate(incident.hypotheses[:3], start=1):
        with st.expander(f"#{rank} {hypothesis.cause}: how to verify and what to do", expanded=rank == 1):
            for query in hypothesis.verification:
                st.code(query, language="promql" if "{" in query and "|=" not in query else None)
            for action in hypothesis.actions:
                st.markdown(f"**{action.title}** · risk `{action.risk}`")
                st.code(action.command, language="bash")


def marks_for(diagnosis: Diagnosis, truth: GroundTruth | None = None) -> list[Mark]:
    marks = []
    if diagnosis.incident.started_at:
        marks.append(Mark("started", diagnosis.incident.started_at, "#d62728"))
    if truth and truth.injected_at:
        marks.append(Mark(f"injected: {truth.scenario}", truth.injected_at, "#9467bd"))
    return marks


def ground_truth(bundle: str | None) -> GroundTruth | None:
    return read_ground_truth(bundle) if bundle else None


def signals(diagnosis: Diagnosis, broker: str, bundle: str | None = None) -> None:
    marks = marks_for(diagnosis, ground_truth(bundle))
    available = sorted(set(diagnosis.metrics["signal"].astype(str))) if not diagnosis.metrics.empty else []
    picked = st.multiselect("Signals (default: those that changed first)", available, default=[])
    figure = signal_figure(diagnosis.metrics, diagnosis.findings, broker, picked or None, marks)
    if figure is None:
        reasons = [
            f"{r.source}: {r.status} {r.message}" for r in diagnosis.incident.sources if r.source == "metrics"
        ]
        st.info(
            "No metric series in this window for this broker. "
            + ("; ".join(reasons) or "The source returned none.")
        )
    else:
        st.plotly_chart(figure, use_container_width=True, key="signals_chart")
        st.caption(
            "Diamonds mark change points; dashed lines mark the incident start and the injected fault. "
            "Zooming one panel zooms all."
        )
    _narrow_form(diagnosis)


def _narrow_form(diagnosis: Diagnosis) -> None:
    window = diagnosis.incident.window
    start, end = window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)
    if (end - start).total_seconds() < 120:
        return
    chosen = st.slider(
        "Narrow the window (UTC)",
        min_value=start,
        max_value=end,
        value=(start, end),
        format="MM-DD HH:mm:ss",
        key="narrow_slider",
    )
    st.button("Apply window", on_click=_apply_window, args=(chosen,))


def _apply_window(chosen: tuple[datetime, datetime]) -> None:
    st.session_state["from_input"] = chosen[0].isoformat() + "Z"
    st.session_state["to_input"] = chosen[1].isoformat() + "Z"


def timeline(diagnosis: Diagnosis, broker: str) -> None:
    figure = timeline_figure(diagnosis.events, diagnosis.incident.window, broker, marks_for(diagnosis))
    if figure is None:
        reasons = [
            f"{r.source}: {r.status} {r.message}" for r in diagnosis.incident.sources if r.source == "logs"
        ]
        st.info("No classified log events in this window for this broker. " + ("; ".join(reasons) or ""))
        return
    st.plotly_chart(figure, use_container_width=True, key="timeline_chart")
    counts = pd.Series([e.event_class for e in diagnosis.events]).value_counts()
    st.dataframe(counts.rename("events").to_frame(), use_container_width=True)
    families = service.unknown_families(diagnosis.events)
    if families:
        st.caption("Lines no class fits, grouped into templates (new log families worth a look):")
        st.dataframe(pd.DataFrame(families), hide_index=True, use_container_width=True)


def note(incident: Incident) -> None:
    mode = st.radio(
        "Writer",
        ["auto", "template"],
        horizontal=True,
        help="auto: an LLM draft when ANTHROPIC_API_KEY or LENS_LLM_BASE_URL is set, checked against the "
        "evidence, else the deterministic template",
    )
    written = state.note(incident.to_json(), mode)
    text = written["markdown"]
    st.caption(written["accounting"])
    st.markdown(text)
    st.download_button(
        "Download note (.md)", text, file_name=f"incident-{incident.cluster}.md", mime="text/markdown"
    )
    with st.expander("Markdown source (copy button at the top right)"):
        st.code(text, language="markdown")


def rules(diagnosis: Diagnosis) -> None:
    try:
        generated = service.incident_rules(diagnosis)
    except service.BadRequest as exc:
        st.info(str(exc))
        return
    text = generated.get("yaml", "")
    status = generated.get("promtool")
    if status:
        (st.success if status.get("ok") else st.error)(f"promtool: {status.get('message', '')}")
    st.code(text, language="yaml")
    st.download_button("Download rules (.yml)", text, file_name="incident-rules.yml", mime="text/yaml")


def evidence(incident: Incident) -> None:
    if not incident.evidence:
        st.info("No evidence: nothing changed regime and no notable log events in this window.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "signal": e.signal,
                    "broker": e.broker,
                    "at": iso(e.at),
                    "before": e.before,
                    "value": e.value,
                    "count": e.count,
                    "summary": e.summary,
                    "query": e.query,
                }
                for e in incident.evidence
            ]
        ),
        hide_index=True,
        use_container_width=True,
    )


def now(settings: LiveSettings) -> None:
    if not settings.bootstrap:
        st.info("Set Kafka bootstrap servers in the sidebar (or KAFKA_BOOTSTRAP_SERVERS) for the live view.")
        return
    try:
        view = service.cluster_now(settings.bootstrap)
    except (SourceError, service.BadRequest) as exc:
        st.error(str(exc))
        return
    st.caption(
        f"Cluster id {view['cluster_id']} · active controller {view['controller']} · "
        f"{view['partitions']} partitions"
    )
    for problem in view["problems"]:
        st.warning(problem)
    left, right = st.columns(2)
    left.metric("Under-replicated partitions", view["under_replicated_count"])
    right.metric("Offline partitions", view["offline_count"])
    st.dataframe(pd.DataFrame(view["brokers"]), hide_index=True, use_container_width=True)
    if view["under_replicated"]:
        st.dataframe(pd.DataFrame(view["under_replicated"]), hide_index=True, use_container_width=True)
    if view["lagging_groups"]:
        lag = pd.DataFrame(list(view["lagging_groups"].items()), columns=["group", "lag"])
        st.dataframe(lag, hide_index=True, use_container_width=True)
