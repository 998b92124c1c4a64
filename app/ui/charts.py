"""Plotly figures for a diagnosis: aligned signal panels and a log-event timeline.

Pure functions from frames and typed records to figures, so the page stays thin and the
figures can be tested without a browser. Log lines and label values are untrusted: plotly
renders a small HTML subset in hover text, so every piece of data text is escaped here.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.model import Finding, LogEvent, Window, iso, utc

MAX_PANELS = 14
MAX_TRACES_PER_PANEL = 6
MAX_TIMELINE_POINTS = 4000
HOVER_LINE_CHARS = 300

SEVERITY_COLOURS = {
    "ERROR": "#d62728",
    "WARN": "#ff7f0e",
    "INFO": "#1f77b4",
    "DEBUG": "#7f7f7f",
    "TRACE": "#bbbbbb",
}


@dataclass(frozen=True)
class Mark:
    """A labelled instant drawn across every panel (e.g. incident start, injected fault)."""

    label: str
    at: datetime
    colour: str = "#d62728"


def safe_text(value: object, limit: int = HOVER_LINE_CHARS) -> str:
    """Data text made inert for plotly hover labels: escaped, control characters dropped, cut."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def panel_order(
    metrics: pd.DataFrame, findings: Iterable[Finding], wanted: list[str] | None = None
) -> list[str]:
    """Signals to draw: those with findings first (earliest first), then the rest by name."""
    present = sorted(set(metrics["signal"].astype(str))) if not metrics.empty else []
    if wanted:
        present = [s for s in wanted if s in set(present)]
    first_seen: dict[str, datetime] = {}
    for finding in sorted(findings, key=lambda f: f.at):
        first_seen.setdefault(finding.signal, finding.at)
    moved = [s for s in sorted(first_seen, key=first_seen.__getitem__) if s in present]
    return moved + [s for s in present if s not in first_seen]


def signal_figure(
    metrics: pd.DataFrame,
    findings: list[Finding],
    broker: str = "all",
    signals: list[str] | None = None,
    marks: list[Mark] | None = None,
    max_panels: int = MAX_PANELS,
) -> go.Figure | None:
    """One small panel per signal on one shared time axis; None when there is nothing to draw."""
    if metrics.empty:
        return None
    frame = metrics if broker == "all" else metrics[metrics["broker"].astype(str) == str(broker)]
    if frame.empty:
        return None
    relevant = [f for f in findings if broker == "all" or f.broker in (None, str(broker))]
    order = panel_order(frame, relevant, signals)[:max_panels]
    if not order:
        return None
    figure = make_subplots(
        rows=len(order),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.04, 0.3 / len(order)),
        subplot_titles=[safe_text(s, 80) for s in order],
    )
    for row, signal in enumerate(order, start=1):
        _add_signal_traces(figure, frame[frame["signal"] == signal], row)
        for finding in (f for f in relevant if f.signal == signal):
            figure.add_trace(_finding_marker(finding), row=row, col=1)
    for mark in marks or []:
        figure.add_vline(x=utc(mark.at), line_dash="dash", line_color=mark.colour, row="all", col=1)
        figure.add_annotation(
            x=utc(mark.at),
            y=1.0,
            yref="paper",
            text=safe_text(mark.label, 40),
            showarrow=False,
            font={"color": mark.colour, "size": 11},
            yanchor="bottom",
        )
    figure.update_layout(
        height=max(260, 150 * len(order)),
        showlegend=False,
        margin={"l": 50, "r": 10, "t": 40, "b": 30},
        hovermode="x unified",
        uirevision="signals",
    )
    figure.update_annotations(font_size=11)
    return figure


def _add_signal_traces(figure: go.Figure, frame: pd.DataFrame, row: int) -> None:
    series = []
    for (series_broker, labels), group in frame.groupby(["broker", "labels"], dropna=False, sort=True):
        group = group.sort_values("ts")
        series.append((float(group["value"].abs().max(skipna=True) or 0.0), series_broker, labels, group))
    # Per-partition signals can have hundreds of series; the largest ones carry the story.
    series.sort(key=lambda item: -item[0] if item[0] == item[0] else 0.0)
    for _, series_broker, labels, group in series[:MAX_TRACES_PER_PANEL]:
        name = f"broker {series_broker}" if pd.notna(series_broker) else "cluster"
        extra = _label_text(labels)
        figure.add_trace(
            go.Scattergl(
                x=group["ts"],
                y=group["value"],
                mode="lines",
                name=safe_text(f"{name} {extra}".strip(), 80),
                hovertemplate="%{y:.4g}<extra>" + safe_text(f"{name} {extra}".strip(), 80) + "</extra>",
            ),
            row=row,
            col=1,
        )


def _label_text(labels: object) -> str:
    try:
        parsed = json.loads(str(labels)) if labels else {}
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    return ",".join(
        f"{k}={v}" for k, v in sorted(parsed.items()) if k not in ("broker", "cluster", "instance", "job")
    )


def _finding_marker(finding: Finding) -> go.Scatter:
    label = {"change_point": "change point", "anomaly": "anomaly", "burst": "burst"}[finding.kind]
    change = f"{_num(finding.before)} → {_num(finding.after)}"
    detail = f"{label} {finding.direction}: {change} (score {finding.score:.2f})"
    return go.Scatter(
        x=[utc(finding.at)],
        y=[finding.after if finding.after is not None else 0.0],
        mode="markers",
        marker={"symbol": "diamond", "size": 11, "color": "#d62728", "line": {"width": 1, "color": "black"}},
        hovertemplate=safe_text(f"broker {finding.broker}: {detail} at {iso(finding.at)}")
        + "<extra></extra>",
        name=label,
    )


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"


def timeline_figure(
    events: list[LogEvent], window: Window, broker: str = "all", marks: list[Mark] | None = None
) -> go.Figure | None:
    """Log events with event classes as lanes; hover shows the escaped line."""
    chosen = [
        e
        for e in events
        if e.ts is not None and (broker == "all" or str(e.source_broker or e.broker) == str(broker))
    ]
    if not chosen:
        return None
    if len(chosen) > MAX_TIMELINE_POINTS:
        chosen = _thin(chosen, MAX_TIMELINE_POINTS)
    lanes = sorted({e.event_class for e in chosen})
    figure = go.Figure()
    for severity in ("ERROR", "WARN", "INFO", "DEBUG", "TRACE", None):
        group = [e for e in chosen if e.severity == severity]
        if not group:
            continue
        figure.add_trace(
            go.Scattergl(
                x=[utc(e.ts) for e in group],
                y=[e.event_class for e in group],
                mode="markers",
                marker={"size": 8, "color": SEVERITY_COLOURS.get(severity or "", "#2ca02c"), "opacity": 0.8},
                name=severity or "unknown",
                text=[
                    f"broker {safe_text(e.source_broker or e.broker or '?', 20)}<br>{safe_text(e.line)}"
                    for e in group
                ],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        )
    for mark in marks or []:
        figure.add_vline(x=utc(mark.at), line_dash="dash", line_color=mark.colour)
    figure.update_layout(
        height=max(220, 28 * len(lanes) + 80),
        margin={"l": 10, "r": 10, "t": 20, "b": 30},
        xaxis={"range": [utc(window.start), utc(window.end)]},
        yaxis={"categoryorder": "array", "categoryarray": lanes, "automargin": True},
        legend={"orientation": "h"},
    )
    return figure


def _thin(events: list[LogEvent], limit: int) -> list[LogEvent]:
    """Keep every WARN/ERROR event and an even sample of the rest."""
    loud = [e for e in events if e.severity in ("WARN", "ERROR")]
    quiet = [e for e in events if e.severity not in ("WARN", "ERROR")]
    room = max(0, limit - len(loud))
    step = max(1, len(quiet) // room) if room else len(quiet) + 1
    return sorted(loud[:limit] + quiet[::step][:room], key=lambda e: e.ts)
