"""Turn the pipeline's inputs into one kind of thing the rules can match: `Observation`s.

- a detector `Finding` (metric change point, anomaly, burst) becomes a metric observation;
- classified log events become bursts: per (event class, emitting broker, subject broker), bins of
  events whose count is improbable under that stream's own baseline rate (Poisson tail), merged into
  episodes; a class that never occurs otherwise is a burst at its first event;
- missing data is an observation too: a broker whose metric series stop mid-window (scrape failed)
  or whose log stream goes silent far longer than its usual gap.

Pure functions; no I/O.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import pdtrc

from app.model import Finding, LogEvent, utc

RARE_SHARE = 0.2  # a log class present in at most this share of bins is rare


@dataclass(frozen=True)
class Observation:
    kind: Literal["metric", "log", "gap"]
    name: str  # signal id, event class, or gap kind ("metrics" / "logs")
    broker: str | None  # where it was seen: the series' broker or the emitting broker
    at: datetime
    end: datetime | None = None
    direction: Literal["up", "down", "none"] = "none"
    before: float | None = None
    after: float | None = None
    score: float = 1.0  # 0..1, how sure the detector (or burst test) is
    count: int = 1
    subject: str | None = None  # the broker it is about (ISR victim, fenced broker, fetch peer)
    sample: str = ""
    detail: str = ""

    def sort_key(self) -> tuple:
        return (
            self.at,
            self.kind,
            self.name,
            self.broker or "",
            self.subject or "",
            self.detail,
            self.direction,
            self.count,
        )

    def ratio(self) -> float | None:
        """after/before for a rise, before/after for a fall (∞ from zero)."""
        if self.before is None or self.after is None:
            return None
        hi, lo = (self.after, self.before) if self.direction == "up" else (self.before, self.after)
        if lo <= 0:
            return float("inf") if hi > 0 else None
        return hi / lo


def from_findings(findings: list[Finding], threshold: float, own_bursts: bool = False) -> list[Observation]:
    """Metric findings (and `log:<class>` burst findings unless we build bursts from events)."""
    out = []
    for f in findings:
        if f.score < threshold or (own_bursts and f.kind == "burst" and f.signal.startswith("log:")):
            continue
        kind = "log" if f.kind == "burst" and f.signal.startswith("log:") else "metric"
        out.append(
            Observation(
                kind=kind,
                name=f.signal.removeprefix("log:"),
                broker=f.broker,
                at=utc(f.at),
                end=utc(f.end) if f.end else None,
                direction=f.direction,
                before=f.before,
                after=f.after,
                score=min(1.0, float(f.score)),
                detail=f.detail,
            )
        )
    return out


def subject_of(event: LogEvent) -> str | None:
    """The broker an event points at, when it is not (only) the one that logged it."""
    if event.isr_from is not None and event.isr_to is not None:
        gone = sorted(set(event.isr_from) - set(event.isr_to))
        added = sorted(set(event.isr_to) - set(event.isr_from))
        changed = gone or added
        return str(changed[0]) if len(changed) == 1 else None
    if event.peer is not None:
        return str(event.peer)
    emitter = event.source_broker
    if event.broker is not None and emitter is not None and str(event.broker) != str(emitter):
        return str(event.broker)
    return None


def emitter_of(event: LogEvent) -> str | None:
    broker = event.source_broker if event.source_broker is not None else event.broker
    return None if broker is None else str(broker)


@dataclass(frozen=True)
class EventTable:
    """The timed events as columns, built once per diagnosis for the per-event steps.

    Bursts, silences and sample lines each walked 200k LogEvents in Python (a third of the
    correlate stage on a day of logs); they now share these columns and work on arrays.
    """

    events: list[LogEvent]  # the events with a time, in their order
    ts: list[datetime]  # their times in UTC
    ns: np.ndarray  # the same as int64 nanoseconds
    cls: list[str]
    emitter: list[str | None]  # emitter_of
    subject: list[str | None]  # subject_of
    _codes: dict[str, tuple[np.ndarray, list]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, events: list[LogEvent] | EventTable) -> EventTable:
        if isinstance(events, EventTable):
            return events
        timed = [e for e in events if e.ts is not None]
        ts = [t if t.tzinfo is UTC else utc(t) for t in map(_TS, timed)]
        ns = pd.DatetimeIndex(ts).as_unit("ns").asi8 if ts else np.zeros(0, dtype=np.int64)
        sources = list(map(_SOURCE, timed))
        brokers = list(map(_BROKER, timed))
        emitter = [
            (s if type(s) is str else str(s))
            if s is not None
            else (b if b is None or type(b) is str else str(b))
            for s, b in zip(sources, brokers, strict=True)
        ]
        # Most events name no other broker, peer or ISR (GC lines, routine messages): no subject.
        subject = [
            subject_of(e)
            if (b is not None and b != s) or e.peer is not None or e.isr_from is not None
            else None
            for e, b, s in zip(timed, brokers, sources, strict=True)
        ]
        return cls(timed, ts, np.asarray(ns, dtype=np.int64), list(map(_CLASS, timed)), emitter, subject)

    def codes(self, column: str) -> tuple[np.ndarray, list]:
        """Integer codes of a column (-1: None) and the values they stand for (first seen first)."""
        cached = self._codes.get(column)
        if cached is None:
            codes, uniques = pd.factorize(np.array(getattr(self, column), dtype=object))
            cached = self._codes[column] = (codes, list(uniques))
        return cached


_TS = attrgetter("ts")
_SOURCE = attrgetter("source_broker")
_BROKER = attrgetter("broker")
_CLASS = attrgetter("event_class")


def log_bursts(
    events: list[LogEvent] | EventTable,
    window_start: datetime,
    window_end: datetime,
    *,
    bin_s: float,
    p: float,
    episode_gap_s: float,
    ignore: frozenset[str] = frozenset(),
) -> list[Observation]:
    """Bursts of each (class, emitter, subject) stream against its own baseline rate in the window."""
    table = EventTable.of(events)
    cls_codes, classes = table.codes("cls")
    rows = np.flatnonzero(~np.isin(cls_codes, [k for k, c in enumerate(classes) if c in ignore]))
    if not len(rows):
        return []
    n_bins = max(1, int(np.ceil((window_end - window_start).total_seconds() / bin_s)))
    start_ns = pd.Timestamp(window_start).value
    bins = ((table.ns[rows] - start_ns) // int(bin_s * 1e9)).clip(0, n_bins - 1)
    # Streams in (class, emitter, subject) order: each column's sorted codes combine in that order.
    codes = np.zeros(len(rows), dtype=np.int64)
    uniques = []
    for column in ("cls", "emitter", "subject"):
        column_codes, values = table.codes(column)
        names = [v or "" for v in values] + [""]  # code -1 (None) is the last
        ordered = sorted(set(names))
        position = {name: k for k, name in enumerate(ordered)}
        ranks = np.array([position[name] for name in names], dtype=np.int64)
        codes = codes * len(ordered) + ranks[column_codes[rows]]
        uniques.append(ordered)
    stream_codes, inverse = np.unique(codes, return_inverse=True)
    inverse = inverse.reshape(-1)
    # Members of each stream in time order (stable: ties keep the events' order).
    order = np.lexsort((table.ns[rows], inverse))
    cuts = np.flatnonzero(np.diff(inverse[order])) + 1
    out: list[Observation] = []
    for code, members in zip(stream_codes.tolist(), np.split(order, cuts), strict=True):
        code, k_subject = divmod(code, len(uniques[2]))
        k_cls, k_emitter = divmod(code, len(uniques[1]))
        member_bins = bins[members]
        counts = np.bincount(member_bins, minlength=n_bins)
        # The stream's usual rate per bin. A class seen in only a few bins has no usual rate: each
        # of its events is news (an ISR shrink, a fencing); a steady class must beat its own rate.
        rare = np.count_nonzero(counts) <= max(2, RARE_SHARE * n_bins) and np.median(counts) == 0
        # Trimmed mean: a storm filling a third of the window must not become its own baseline.
        trimmed = np.sort(counts)[: max(1, int(len(counts) * 0.75))]
        baseline = max(float(np.median(counts)), float(trimmed.mean()), 1e-3)
        sf = _poisson_sf(counts - 1, baseline)
        tail = np.where(rare, np.minimum(sf, p / 10), sf)
        hot = (counts > 0) & (tail < p)
        if not hot.any():
            continue
        picked = members[hot[member_bins]]
        emitter, subject = uniques[1][k_emitter], uniques[2][k_subject]
        out.extend(
            _episodes(
                table,
                rows[picked],
                bins[picked],
                uniques[0][k_cls],
                emitter or None,
                subject or None,
                tail,
                episode_gap_s,
            )  # fmt: skip
        )
    return out


def _poisson_sf(k: np.ndarray, mu: float) -> np.ndarray:
    """P(X > k) for X ~ Poisson(mu): what scipy.stats.poisson.sf returns (1 below 0, else pdtrc),
    without importing scipy.stats (~45 MB) or its per-call argument checks."""
    return np.where(k < 0, 1.0, pdtrc(np.maximum(k, 0).astype(float), mu))


def _episodes(
    table: EventTable,
    rows: np.ndarray,
    bins: np.ndarray,
    cls: str,
    emitter: str | None,
    subject: str | None,
    tail: np.ndarray,
    gap_s: float,
) -> list[Observation]:
    """Hot events of one stream (in time order) cut into episodes at gaps longer than `gap_s`."""
    # Seconds between events as timedelta.total_seconds() gives them (whole microseconds / 1e6).
    us = table.ns[rows] // 1000
    breaks = np.flatnonzero(np.diff(us) / 1e6 > gap_s) + 1
    starts = [0, *breaks.tolist()]
    ends = [*breaks.tolist(), len(rows)]
    p_mins = np.minimum.reduceat(tail[bins], starts)
    out = []
    for start, end, p_min in zip(starts, ends, p_mins.tolist(), strict=True):
        score = float(min(1.0, -np.log10(max(p_min, 1e-12)) / 4.0))
        first = int(rows[start])
        out.append(
            Observation(
                kind="log",
                name=cls,
                broker=emitter,
                at=table.ts[first],
                end=table.ts[int(rows[end - 1])],
                direction="up",
                score=max(score, 0.5),
                count=end - start,
                subject=subject,
                sample=table.events[first].line[:500],
            )
        )
    return out


def metric_gaps(
    metrics: pd.DataFrame | None,
    step_s: float,
    min_steps: int,
    window_end: datetime,
    exclude: frozenset[str] = frozenset(),
) -> list[Observation]:
    """Per broker, stretches with no sample from any of its series (the scrape failed or it died).

    The `up`-style series keep reporting while the broker is gone, so a broker counts as silent at a
    timestamp when none of its *other* series has a sample there. Rates computed over a range keep
    producing points for up to that range after the last scrape, so the stretch is dated from the
    signals that stopped first (the second earliest, so one series that ended for its own reasons
    cannot pull it back).
    """
    if metrics is None or metrics.empty or step_s <= 0:
        return []
    # Only the columns used: a row filter of the whole frame copies every label set and PromQL text
    # too (+175 MB RSS on a day of metrics).
    keep = metrics["broker"].notna() & ~metrics["signal"].isin(exclude)
    frame = metrics.loc[keep, ["ts", "signal", "broker"]]
    out: list[Observation] = []
    if frame.empty:
        return out
    limit = pd.Timedelta(seconds=step_s * min_steps)
    # Per broker, the time stamps of its signals with at least 3 samples, on integer codes and
    # int64 nanoseconds (a groupby per broker and signal was most of this function's time).
    broker_codes, brokers = pd.factorize(_text(frame["broker"]), sort=True)
    signal_codes, signals = pd.factorize(frame["signal"])  # a missing signal: -1, left out
    pairs = broker_codes.astype(np.int64) * (len(signals) + 1) + (signal_codes + 1)
    enough = (np.bincount(pairs)[pairs] >= 3) & (signal_codes >= 0)
    stamps_all = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8
    for k, broker in enumerate(brokers):
        mine = broker_codes == k
        stamps = np.unique(stamps_all[mine & enough])
        if not len(stamps):
            continue
        ts = pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC")
        if len(ts) < 3:
            continue
        stretches = [(ts[i], ts[i + 1]) for i in np.flatnonzero((ts[1:] - ts[:-1]) > limit)]
        if pd.Timestamp(window_end) - ts[-1] > limit:
            stretches.append((ts[-1], None))
        if not stretches:
            continue
        group = frame[mine]
        per_signal = {
            str(sig): pd.DatetimeIndex(g["ts"]).unique().sort_values()
            for sig, g in group.groupby("signal", sort=True, observed=True)
            if len(g) >= 3
        }
        for last, resumed in stretches:
            began = _stopped_at(per_signal, last, step_s)
            silent = (resumed or pd.Timestamp(window_end)) - began
            detail = f"no samples for {silent.total_seconds():.0f}s" + (
                "" if resumed is not None else " (until the end of the window)"
            )
            out.append(
                Observation(
                    kind="gap",
                    name="metrics",
                    broker=str(broker),
                    at=utc(began.to_pydatetime(warn=False)),
                    end=None if resumed is None else utc(resumed.to_pydatetime(warn=False)),
                    direction="down",
                    score=1.0,
                    detail=detail,
                )
            )
    return out


def _stopped_at(per_signal: dict[str, pd.DatetimeIndex], last: pd.Timestamp, step_s: float) -> pd.Timestamp:
    """First missing scrape: one step after the last sample of the signals that stopped first."""
    horizon = last - pd.Timedelta(minutes=3)
    lasts = []
    for idx in per_signal.values():  # sorted: the last sample at or before `last` by bisection
        i = int(idx.searchsorted(last, side="right"))
        if i and idx[i - 1] >= horizon:
            lasts.append(idx[i - 1])
    lasts.sort()
    pick = lasts[min(1, len(lasts) - 1)] if lasts else last
    return pick + pd.Timedelta(seconds=step_s)


def log_silences(
    events: list[LogEvent] | EventTable, window_end: datetime, min_gap_s: float
) -> list[Observation]:
    """Per emitting broker, silences far longer than its usual gap between lines."""
    table = EventTable.of(events)
    codes, brokers = table.codes("emitter")
    # Each broker's events in time order (lexsort is stable: ties keep the events' order).
    order = np.lexsort((table.ns, codes))
    bounds = np.searchsorted(codes[order], np.arange(len(brokers) + 1), side="left")
    # datetime.timestamp() of a UTC time: its whole microseconds / 1e6 (exact in float64).
    seconds = (table.ns // 1000) / 1e6
    out = []
    for k in sorted(range(len(brokers)), key=lambda k: brokers[k]):
        broker = brokers[k]
        rows = order[bounds[k] : bounds[k + 1]]
        if len(rows) < 5:
            continue
        times = _At(table.ts, rows.tolist())
        gaps = np.diff(seconds[rows])
        usual = float(np.percentile(gaps, 95)) if len(gaps) else 0.0
        limit = max(min_gap_s, 5 * usual)
        for i in np.flatnonzero(gaps > limit):
            out.append(
                Observation(
                    kind="gap",
                    name="logs",
                    broker=broker,
                    at=times[i] + timedelta(seconds=1),
                    end=times[i + 1],
                    direction="down",
                    score=1.0,
                    detail=f"log stream silent for {gaps[i]:.0f}s",
                )
            )
        tail = (window_end - times[-1]).total_seconds()
        if tail > limit:
            out.append(
                Observation(
                    kind="gap",
                    name="logs",
                    broker=broker,
                    at=times[-1] + timedelta(seconds=1),
                    end=None,
                    direction="down",
                    score=1.0,
                    detail=f"log stream silent for the last {tail:.0f}s of the window",
                )
            )
    return out


def _text(column: pd.Series) -> pd.Series:
    """`column.astype(str)` as a group key; a string column or a categorical of strings (bundle
    frames) as it is, since astype(str) would copy it or build one Python string per row."""
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        return column  # already text; astype(str) would copy it
    if (
        isinstance(column.dtype, pd.CategoricalDtype)
        and not column.hasnans
        and all(type(c) is str for c in column.cat.categories)
    ):
        return column
    return column.astype(str)


class _At:
    """times[i] of a stream without building its list: table.ts at the stream's i-th row."""

    def __init__(self, ts: list[datetime], rows: list[int]):
        self._ts, self._rows = ts, rows

    def __getitem__(self, i: int) -> datetime:
        return self._ts[self._rows[i]]


class Levels:
    """Last value of a (signal, broker) series before a moment: what state held when it began.

    A series is cut from the frame when first asked for: the rules read a handful of them, and
    splitting all of a day's series up front was a tenth of the correlate stage.
    """

    def __init__(self, metrics: pd.DataFrame | None):
        self._series: dict[tuple[str, str], tuple[np.ndarray, np.ndarray] | None] = {}
        self._signals: list[str] = []
        if metrics is None or metrics.empty:
            return
        self._frame = metrics.loc[
            metrics["broker"].notna(), ["ts", "signal", "broker", "value"]
        ]  # see metric_gaps
        self._signal = _text(self._frame["signal"])
        self._broker = _text(self._frame["broker"])
        self._signals = sorted({str(s) for s in self._signal.unique()})

    def _get(self, signal: str, broker: str) -> tuple[np.ndarray, np.ndarray] | None:
        key = (signal, broker)
        if key not in self._series:
            found = None
            if signal in self._signals:
                mask = (self._signal == signal).to_numpy(dtype=bool) & (self._broker == broker).to_numpy(
                    dtype=bool
                )
                if mask.any():
                    g = self._frame[mask].sort_values("ts")
                    found = (pd.DatetimeIndex(g["ts"]).as_unit("ns").asi8, g["value"].to_numpy(dtype=float))
            self._series[key] = found
        return self._series[key]

    def signals(self) -> list[str]:
        return list(self._signals)

    def before(
        self, signal: str, broker: str, at: datetime, look_back_s: float = 60.0
    ) -> tuple[datetime, float] | None:
        """(time, value) of the last sample in [at - look_back_s, at), or None."""
        found = self._get(signal, broker)
        if found is None:
            return None
        ts, values = found
        end = pd.Timestamp(at).value
        i = int(np.searchsorted(ts, end, side="left")) - 1
        while i >= 0 and np.isnan(values[i]):
            i -= 1
        if i < 0 or ts[i] < end - int(look_back_s * 1e9):
            return None
        return utc(pd.Timestamp(ts[i], tz="UTC").to_pydatetime(warn=False)), float(values[i])


def drop_startup_replay(
    observations: list[Observation], startup: frozenset[str], replay_s: float
) -> list[Observation]:
    """Remove log bursts a broker emits while it starts (metadata replay), keeping the start itself."""
    starts = [(o.broker, o.at) for o in observations if o.kind == "log" and o.name in startup and o.broker]
    if not starts:
        return observations
    span = timedelta(seconds=replay_s)
    # Start times per broker, sorted: the latest start at or before an observation decides (a day of
    # restarts times every log burst made the plain any() over all starts quadratic).
    by_broker: dict[str, list[datetime]] = {}
    for b, t in starts:
        by_broker.setdefault(b, []).append(t)
    for times in by_broker.values():
        times.sort()

    def replayed(o: Observation) -> bool:
        if o.kind != "log" or o.name in startup or o.name in _NOT_REPLAYED:
            return False
        times = by_broker.get(o.broker) if o.broker else None
        if not times:
            return False
        i = bisect_right(times, o.at)
        return i > 0 and o.at <= times[i - 1] + span

    return [o for o in observations if not replayed(o)]


_NOT_REPLAYED = frozenset({"gc_pause", "long_gc_pause", "gc_info"})  # GC lines are always live


def refine_onsets(
    observations: list[Observation], metrics: pd.DataFrame | None, *, max_back_s: float = 60.0, k: float = 4.0
) -> list[Observation]:
    """Move a level change back to the first sample that already left the old level.

    Range-vector rates ramp for a whole range after a step, and a change point fitted to the ramp
    can land in its middle. Walking back while each earlier sample is more than `k` noise units
    (robust spread of the 2.5 minutes before) past the old level, in the change's direction, finds
    where the ramp began. Only plain levels are refined (not slopes or derived measures), only
    earlier, and by at most `max_back_s`.
    """
    if metrics is None or metrics.empty:
        return observations
    wanted = {
        (o.name, o.broker or "", o.detail)
        for o in observations
        if o.kind == "metric" and o.direction in ("up", "down") and "measure=" not in o.detail
    }
    if not wanted:
        return observations
    series: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
    frame = metrics[metrics["signal"].isin({w[0] for w in wanted})]
    for (signal, broker, labels), g in frame.groupby(
        [
            frame["signal"].astype(str),
            frame["broker"].astype(str).where(frame["broker"].notna(), ""),
            frame["labels"].astype(str),
        ],
        sort=True,
    ):
        key = (signal, broker, _detail(labels))
        if key in wanted:
            s = pd.Series(g["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(g["ts"]).as_unit("ns"))
            s = s[~s.index.duplicated(keep="last")].sort_index().dropna()
            # Plain arrays (ns, values): _walk_back runs once per metric observation, and pandas
            # indexing there cost ~0.4 ms each (29 s for 75k observations).
            series[key] = (s.index.asi8, s.to_numpy())
    out = []
    for o in observations:
        s = series.get((o.name, o.broker or "", o.detail))
        out.append(o if s is None else _walk_back(o, s, max_back_s, k))
    return out


def _walk_back(o: Observation, s: tuple[np.ndarray, np.ndarray], max_back_s: float, k: float) -> Observation:
    times, values = s  # sorted unique ns stamps, and their values
    at = pd.Timestamp(o.at).value
    lo = int(np.searchsorted(times, at - 150 * 10**9, side="left"))
    hi = int(np.searchsorted(times, at - 30 * 10**9, side="right"))
    pre = values[lo:hi]
    if len(pre) < 5 or o.before is None or o.after is None:
        return o
    base = float(np.median(pre))
    noise = 1.4826 * float(np.median(np.abs(pre - base)))
    threshold = max(k * noise, 0.05 * abs(o.after - o.before), 1e-12)
    sign = 1.0 if o.direction == "up" else -1.0
    i = int(np.searchsorted(times, at, side="left"))
    if i >= len(times):
        return o
    while i > 0 and (at - times[i - 1]) / 1e9 <= max_back_s and sign * (values[i - 1] - base) > threshold:
        i -= 1
    new = utc(pd.Timestamp(times[i], tz="UTC").to_pydatetime(warn=False))
    return o if new >= o.at else replace(o, at=new)


def _detail(labels: str) -> str:
    """The label detail string app.detect puts on a finding (sorted k=v), to find its series."""
    try:
        parsed = json.loads(labels) if labels else {}
    except (TypeError, ValueError):
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(parsed.items())) if isinstance(parsed, dict) else ""


def liveness_outages(
    observations: list[Observation], liveness: frozenset[str], min_s: float, window_end: datetime
) -> list[Observation]:
    """A liveness signal (scrape `up`) that fell and stayed down longer than `min_s`: an outage.

    Counted like series that stopped, since a failed scrape is the same missing data seen from
    Prometheus; short dips (a process stalling for a few seconds) stay plain changes.
    """
    out = []
    by_broker: dict[str, list[Observation]] = {}
    for o in observations:
        if o.kind == "metric" and o.name in liveness and o.broker and o.direction in ("up", "down"):
            by_broker.setdefault(o.broker, []).append(o)
    for broker in sorted(by_broker):
        flips = sorted(by_broker[broker], key=Observation.sort_key)
        for i, o in enumerate(flips):
            if o.direction != "down":
                continue
            back = next((n.at for n in flips[i + 1 :] if n.direction == "up"), None)
            lasted = ((back or window_end) - o.at).total_seconds()
            if lasted > min_s:
                detail = f"scrapes failed for {lasted:.0f}s" + (
                    "" if back else " (until the end of the window)"
                )
                out.append(
                    Observation(
                        kind="gap",
                        name="metrics",
                        broker=broker,
                        at=o.at,
                        end=back,
                        direction="down",
                        score=1.0,
                        detail=detail,
                    )
                )
    return out
