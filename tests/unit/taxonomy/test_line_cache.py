"""The classifier's caches (repeated lines, repeated text after the time) never change a result."""

from __future__ import annotations

import dataclasses
import pickle
from bisect import bisect_right
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app import taxonomy
from app.model import LogEvent
from app.taxonomy import _classify

from .conftest import FIXTURES

KAFKA = "[2026-12-04 23:50:00,123]"
GC = "[2026-12-04T23:50:00.123+0000]"


def fixture_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(Path(FIXTURES).rglob("*.log")):
        lines += path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    return lines


def variants(lines: list[str]) -> list[str]:
    """The same text after the time under other, odd or impossible times and with odd endings."""
    out = []
    for line in lines:
        if line.startswith("[") and line[24:25] == "]":
            rest = line[24:]
            out += [
                "[2026-13-45 25:61:61,999" + rest,  # the layout's shape, no such date
                "[2026-02-03 10:00:60,123" + rest,  # a known minute, no such second
                "[2026-02-03 10:00:59,999" + rest,
                "[2026-02-03 10:00:00,12x" + rest,  # not the layout
                "[2026-02-03 10:00:00,123" + rest + "\n",
                "[2026-02-03 10:00:00,456" + rest + "\n\x1b[0m",  # cleaned: ends with the newline
                "[2026-02-03 10:00:00,123" + rest + "\x1b[0m",
                "[2026-02-03 10:00:00,123" + rest.replace(" ", "\x00", 1),
                "[2026-02-03 10:00:00,123" + rest,
            ]
        elif line.startswith("[") and line[29:30] == "]":
            rest = line[30:]
            out += [
                "[2026-02-30T10:00:00.123+0000]" + rest,  # no such date
                "[2026-02-03T10:00:60.123-0130]" + rest,  # a known minute, no such second
                "[2026-02-03T10:00:59.123-0130]" + rest,
                "[2026-02-03T10:00:00.123-0130]" + rest,
                "[2026-02-03T10:00:00.123+0000][2026-02-03T11:00:00.456+0530]" + rest,  # a second time
                "[2026-02-03T11:00:00.456+0530][2026-02-03T11:00:00.456+0530]" + rest,  # the same twice
                "[2026-02-03T12:00:00.789+0000][2026-02-03T11:00:00.456+0530]" + rest,
                "[2026-02-03T10:00:00.123+0000] " + rest,
                "[2026-02-03T10:00:00.123+0000]" + rest + "\r\n",
            ]
        elif line[:1] in ("\t", "j", "o", "C"):
            out += [line + "\n", line + "\x07", line.encode("utf-8", "surrogateescape")]
    return out


def one(line: str | bytes) -> tuple:
    """The event of one physical line, without record context."""
    return dataclasses.astuple(taxonomy.classify_many([line])[0])


def test_cached_results_equal_results_from_cold_caches() -> None:
    base = fixture_lines()
    lines = base + variants(base)
    assert len(lines) > 2_000
    cold = []
    for line in lines:
        _classify.clear_caches()
        cold.append(one(line))
    _classify.clear_caches()
    taxonomy.classify_many(lines)  # fills every cache
    warm = [one(line) for line in lines]
    assert len(_classify._LINES) and len(_classify._KAFKA_SUFFIX) and len(_classify._GC_SUFFIX)
    assert warm == cold


def test_a_repeated_rest_takes_each_line_own_time() -> None:
    rest = "] INFO [Partition orders-3 broker=2] ISR updated to 1,3,2 (kafka.cluster.Partition)"
    a, b = taxonomy.classify_many(["[2026-12-04 23:50:00,123" + rest, "[2026-12-05 01:02:03,004" + rest])
    assert a.ts == datetime(2026, 12, 4, 23, 50, 0, 123000, tzinfo=UTC)
    assert b.ts == datetime(2026, 12, 5, 1, 2, 3, 4000, tzinfo=UTC)
    assert (a.event_class, a.broker, a.topic, a.partition) == (b.event_class, b.broker, b.topic, b.partition)
    assert a.line != b.line and b.line.startswith("[2026-12-05 01:02:03,004]")


def test_events_never_share_a_list() -> None:
    line = "[Partition orders-0 broker=1] Shrinking ISR from 1,2,3 to 1,3. Leader: (highWatermark: 5, endOffset: 9). Out of sync replicas: (brokerId: 2, endOffset: 5)."  # noqa: E501 (a real log line reads best whole)
    a, b = taxonomy.classify_many([f"{KAFKA} INFO {line} (kafka.cluster.Partition)"] * 2)
    assert a.isr_from == b.isr_from == [1, 2, 3]
    assert a.isr_from is not b.isr_from


def test_fast_built_events_are_ordinary_frozen_log_events() -> None:
    (event,) = taxonomy.classify_many(
        [f"{GC}[gc,start    ] GC(454) Pause Young (Normal) (G1 Evacuation Pause)"]
    )
    assert type(event) is LogEvent
    assert event == LogEvent(**{f.name: getattr(event, f.name) for f in dataclasses.fields(LogEvent)})
    assert pickle.loads(pickle.dumps(event)) == event  # the UI caches diagnoses by pickling them
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event_class = "other"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def joined_entries(lines: list[str]) -> list[str]:
    """Lines joined into entries the way a multi-line shipper stage does: a header and what follows."""
    entries: list[str] = []
    for line in lines:
        starts = line[:1] == "[" or not entries
        if starts:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return entries


def test_whole_entries_give_the_events_of_their_lines() -> None:
    entries = joined_entries(fixture_lines())
    multi = [e for e in entries if "\n" in e]
    assert len(multi) > 10
    # Each multi-line entry again later under another time, and one that breaks the cache's rules.
    again = [("[2026-02-03 10:00:00,123" + e[24:]) if e[24:25] == "]" else e for e in multi]
    odd = [e.replace("\n", "\r\n", 1) for e in multi[:5]] + [e + "\n" + e for e in multi[:5]]
    odd += [e + "\n\tat bell\x07here" for e in multi[:5]]  # a continuation line that cleaning changes
    twice = "[2026-02-03T11:00:00.456+0530]"  # a GC line whose rest holds its own time, then a detail
    odd += [f"{twice}{twice}[gc,start] GC(1) Pause Young (Normal) 12.5ms\n\tdetail"]
    odd += [
        "[2026-02-04 11:00:00,456" + e[24:]
        if e[24:25] == "]"
        else "[2026-02-04T12:00:00.789+0000]" + e[30:]
        if e[29:30] == "]"
        else e
        for e in odd
    ]
    entries = entries + again + odd + ["no layout\n\tat x.y(Z.java:1)", "", 42]
    pieces: list[str] = []
    index_of: dict[int, int] = {}  # first line index -> entry index
    for i, entry in enumerate(entries):
        index_of[len(pieces)] = i
        pieces += (entry if isinstance(entry, str) else "").rstrip("\r\n").split("\n")
    starts = set(index_of)
    first_lines = sorted(index_of)  # the entry holding line k: the last first line <= k
    expected = [
        (bisect_right(first_lines, start) - 1, dataclasses.astuple(event))
        for start, _n, event in taxonomy.classify_records(pieces, starts=starts, source_broker="1")
    ]
    for _ in range(2):  # cold, then with every entry cached
        got = [(i, dataclasses.astuple(e)) for i, e in taxonomy.classify_entries(entries, source_broker="1")]
        assert got == expected
    assert _classify.ENTRIES


def test_a_runaway_record_is_cut_every_max_record_lines() -> None:
    frames = ["\tat a.b(C.java:1)"] * 2500
    lines = [f"{KAFKA} ERROR boom (x.Y)", *frames, f"{KAFKA} INFO next (x.Y)"]
    cuts = [(start, n) for start, n, _ in taxonomy.classify_records(lines)]
    assert cuts == [(0, 1000), (1000, 1000), (2000, 501), (2501, 1)]
    entries = ["\n".join(lines[:-1]), lines[-1]]
    assert [i for i, _ in taxonomy.classify_entries(entries)] == [0, 0, 0, 1]
