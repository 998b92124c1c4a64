"""Kafka Incident Lens: pick a recorded incident (or live servers), a broker and a window."""

from __future__ import annotations

import streamlit as st

from app.model import iso
from app.samples import sample_bundles
from app.timeparse import TimeParseError, parse_window
from app.ui.state import cached_diagnosis

st.set_page_config(page_title="Kafka Incident Lens", layout="wide")
st.title("Kafka Incident Lens")

params = st.query_params
bundles = sample_bundles()
if not bundles:
    st.error("No sample bundles found under samples/. Record one with `python -m stack scenario ...`.")
    st.stop()

names = list(bundles)
wanted = params.get("bundle")
chosen = st.sidebar.selectbox("Recorded incident", names, index=names.index(wanted) if wanted in names else 0)
diagnosis_all = cached_diagnosis(str(bundles[chosen]), None, None, "all")
manifest_brokers = diagnosis_all.incident.brokers
broker_options = ["all", *manifest_brokers]
wanted_broker = params.get("broker", "all")
broker = st.sidebar.selectbox(
    "Broker", broker_options, index=broker_options.index(wanted_broker) if wanted_broker in broker_options else 0
)
start = st.sidebar.text_input("From", params.get("from", ""), help="ISO-8601, epoch ms (Grafana) or now-6h")
end = st.sidebar.text_input("To", params.get("to", ""))

try:
    window = parse_window(start or None, end or None, default=diagnosis_all.incident.window)
except (TimeParseError, ValueError) as exc:
    st.error(f"Window not understood: {exc}")
    st.stop()

st.query_params.update({"bundle": chosen, "broker": broker, "from": iso(window.start), "to": iso(window.end)})
diagnosis = cached_diagnosis(str(bundles[chosen]), iso(window.start), iso(window.end), broker)
incident = diagnosis.incident

st.caption(f"Cluster **{incident.cluster}** · window {iso(incident.window.start)} → {iso(incident.window.end)} (UTC)")
if incident.status == "quiet":
    st.success(f"Quiet: {incident.summary}")
else:
    st.error(f"Incident: {incident.summary}")
    if incident.started_at:
        st.write(f"Started at **{iso(incident.started_at)}**")
    for hypothesis in incident.hypotheses:
        st.write(
            f"**{hypothesis.cause}** · confidence {hypothesis.confidence:.0%} · "
            f"brokers {', '.join(hypothesis.brokers) or '-'} · evidence {', '.join(hypothesis.evidence)}"
        )
for line in incident.missing:
    st.warning(f"Missing: {line}")
with st.expander("Evidence"):
    st.dataframe([{"id": e.id, "kind": e.kind, "signal": e.signal, "broker": e.broker, "at": iso(e.at),
                   "value": e.value, "query": e.query} for e in incident.evidence])
