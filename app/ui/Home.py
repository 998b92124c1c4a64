"""Kafka Incident Lens: pick a recorded incident or live servers, a broker and a window.

URL parameters `bundle`, `cluster`, `broker`, `from`, `to` select the view (Grafana sends epoch
ms; ISO and `now-6h` work too) and the page writes them back so a view can be shared.
"""

from __future__ import annotations

import streamlit as st

from app.model import iso
from app.samples import sample_bundles
from app.service import BadRequest
from app.sources.base import SourceError
from app.ui import panels
from app.ui.state import LiveSettings, bundle_diagnosis, live_diagnosis

st.set_page_config(page_title="Kafka Incident Lens", layout="wide")
st.title("Kafka Incident Lens")

params = st.query_params
env_live = LiveSettings.from_environment()
bundles = sample_bundles()

chosen, settings, brokers = panels.choose_source(params, env_live, bundles)

broker_options = ["all", *brokers]
wanted_broker = params.get("broker", "all")
broker = st.sidebar.selectbox(
    "Broker",
    broker_options,
    index=broker_options.index(wanted_broker) if wanted_broker in broker_options else 0,
)
# Widget state is seeded from the URL once; later the "narrow window" action writes it.
st.session_state.setdefault("from_input", params.get("from", ""))
st.session_state.setdefault("to_input", params.get("to", ""))
start = st.sidebar.text_input("From", key="from_input", help="ISO-8601, epoch ms (Grafana), or now-6h")
end = st.sidebar.text_input("To", key="to_input", help="ISO-8601, epoch ms, or now")

try:
    if chosen is not None:
        diagnosis = bundle_diagnosis(str(bundles[chosen]), start or None, end or None, broker)
    else:
        diagnosis = live_diagnosis(settings, start or None, end or None, broker)
except BadRequest as exc:
    st.error(f"Window not understood: {exc}")
    st.stop()
except SourceError as exc:
    st.error(f"Could not read the data: {exc}")
    st.stop()

incident = diagnosis.incident
shared = {"broker": broker, "from": iso(incident.window.start), "to": iso(incident.window.end)}
if chosen is not None:
    shared["bundle"] = chosen
else:
    shared["cluster"] = incident.cluster
if any(params.get(k) != v for k, v in shared.items()):
    st.query_params.update(shared)

st.caption(
    f"Cluster **{incident.cluster}** · broker **{broker}** · "
    f"{iso(incident.window.start)} → {iso(incident.window.end)} (UTC) · "
    f"diagnosed in {sum(diagnosis.timings.values()):.2f} s"
)
panels.source_messages(incident)
panels.summary(incident)

names = ["Signals", "Log timeline", "Note", "Rules", "Evidence"] + (["Now"] if settings else [])
tabs = dict(zip(names, st.tabs(names), strict=True))
with tabs["Signals"]:
    panels.signals(diagnosis, broker, str(bundles[chosen]) if chosen else None)
with tabs["Log timeline"]:
    panels.timeline(diagnosis, broker)
with tabs["Note"]:
    panels.note(incident)
with tabs["Rules"]:
    panels.rules(diagnosis)
with tabs["Evidence"]:
    panels.evidence(incident)
if settings:
    with tabs["Now"]:
        panels.now(settings)
