"""Cached calls into the core: the only place the UI keeps results between reruns."""

from __future__ import annotations

import streamlit as st

from app.pipeline import Diagnosis, diagnose
from app.sources.bundle_source import BundleSource
from app.timeparse import parse_window


@st.cache_data(ttl=600, show_spinner="Diagnosing…")
def cached_diagnosis(bundle: str, start: str | None, end: str | None, broker: str) -> Diagnosis:
    source = BundleSource(bundle)
    window = parse_window(start, end, default=source.default_window())
    return diagnose(source, window=window, broker=broker)
