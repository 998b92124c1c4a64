"""Cached calls into the core: the only place the UI keeps results between reruns.

Cache keys are the strings the user typed (relative times included), so a live view with
`now-1h` refreshes when the short time-to-live runs out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from app import service
from app.pipeline import Diagnosis
from app.sources.base import Source
from app.sources.bundle_source import BundleSource

LIVE_TTL_S = 60
BUNDLE_TTL_S = 600


@dataclass(frozen=True)
class LiveSettings:
    prometheus: str
    loki: str | None = None
    cluster: str | None = None
    bootstrap: str | None = None

    @classmethod
    def from_environment(cls) -> LiveSettings | None:
        url = os.environ.get("PROMETHEUS_URL", "").strip()
        if not url:
            return None
        return cls(
            prometheus=url,
            loki=os.environ.get("LOKI_URL", "").strip() or None,
            cluster=os.environ.get("KAFKA_CLUSTER", "").strip() or None,
            bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or None,
        )


def open_live(settings: LiveSettings) -> Source:
    from app.sources.live import LiveSource

    return LiveSource(settings.prometheus, loki_url=settings.loki, cluster=settings.cluster)


@st.cache_data(ttl=BUNDLE_TTL_S, show_spinner="Diagnosing the recorded window…")
def bundle_diagnosis(bundle: str, start: str | None, end: str | None, broker: str) -> Diagnosis:
    return service.diagnose_window(BundleSource(bundle), start, end, broker)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner="Querying Prometheus and Loki…")
def live_diagnosis(settings: LiveSettings, start: str | None, end: str | None, broker: str) -> Diagnosis:
    return service.diagnose_window(open_live(settings), start, end, broker)


@st.cache_data(ttl=LIVE_TTL_S, show_spinner="Asking the cluster…")
def live_brokers(settings: LiveSettings) -> list[str]:
    return open_live(settings).brokers()


@st.cache_data(ttl=BUNDLE_TTL_S, show_spinner=False)
def bundle_brokers(bundle: str) -> tuple[list[str], str]:
    source = BundleSource(bundle)
    return source.brokers(), source.cluster()


@st.cache_data(ttl=BUNDLE_TTL_S, show_spinner="Writing the note…")
def note(incident_json: str, mode: str) -> dict[str, str]:
    """The note for an incident; an LLM draft when one is configured and `mode` allows it.

    Keyed on the Incident's JSON so a rerun never pays for a second LLM call.
    """
    from app.config import ConfigError
    from app.model import Incident
    from app.note import write_note

    incident = Incident.from_json(incident_json)
    try:
        written = write_note(incident, mode=mode)
    except ConfigError as exc:
        written = write_note(incident, mode="template")
        return {"markdown": written.markdown, "accounting": f"template note: {exc}", "kind": written.kind}
    return {"markdown": written.markdown, "accounting": written.accounting(), "kind": written.kind}
