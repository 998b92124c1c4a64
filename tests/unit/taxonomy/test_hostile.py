"""Hostile input never raises and never hangs (the timing of pathological lines is in bench/taxonomy.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app import taxonomy

HEADER = "[2026-12-04 23:42:33,283] INFO "


def test_one_megabyte_line_is_classified_and_kept_bounded() -> None:
    line = (
        HEADER
        + "[Partition t-0 broker=1] Shrinking ISR from 1,2,3 to 1. "
        + "x" * 1_000_000
        + " (kafka.cluster.Partition)"
    )
    event = taxonomy.classify(line)
    assert event.event_class == "isr_shrink"  # the start of the line is still read
    assert event.isr_to == [1]
    assert len(event.line) < 70_000


def test_pathological_repeats_return() -> None:
    for unit in (
        "Shrinking ISR from 1,2 to ",
        "Error while ",
        "(",
        "[",
        "{",
        "Member ",
        "1,",
        " in dir ",
        "Preparing to rebalance group ",
    ):
        event = taxonomy.classify(HEADER + unit * 40_000)
        assert event.event_class in taxonomy.CLASSES or event.event_class == taxonomy.UNKNOWN


def test_invalid_utf8_bytes() -> None:
    raw = b"[2026-12-04 23:42:33,283] WARN bad \xff\xfe bytes \xc3\x28 (kafka.server.X)"
    event = taxonomy.classify(raw)
    assert event.severity == "WARN"
    assert "\ufffd" in event.line
    event.line.encode("utf-8")  # storable: no lone surrogates


def test_surrogateescape_text_is_cleaned() -> None:
    text = b"java.io.IOException: No space left on device \xff".decode("utf-8", "surrogateescape")
    event = taxonomy.classify(text)
    assert event.event_class == "disk_full"
    event.line.encode("utf-8")


def test_ansi_colours_and_control_characters() -> None:
    line = "\x1b[32m[2026-12-04 23:42:33,283] INFO [Partition t-0 broker=1] Shrinking ISR from 1,2 to 1\x1b[0m\x07 (kafka.cluster.Partition)"  # noqa: E501 (a real log line reads best whole)
    event = taxonomy.classify(line)
    assert event.event_class == "isr_shrink"
    assert "\x1b" not in event.line and "\x07" not in event.line


def test_lines_that_look_like_log4j_but_are_not() -> None:
    for line in (
        "[2026-12-04 23:42:33,283]",
        "[2026-12-04 23:42:33,283] NOTALEVEL x (y)",
        "[9999-99-99 99:99:99,999] INFO odd date (kafka.Foo)",
        "[] INFO (",
        "[" * 5000,
        "{not json",
        '{"log": 12}',
        "| | | |",
        "",
        "\x00\x00\x00",
    ):
        event = taxonomy.classify(line)
        assert event.event_class in (*taxonomy.CLASSES, taxonomy.UNKNOWN)


def test_bad_date_gives_no_timestamp_not_an_error() -> None:
    event = taxonomy.classify(
        "[9999-99-99 99:99:99,999] INFO [Partition t-0 broker=1] Shrinking ISR from 1,2 to 1 (kafka.cluster.Partition)"  # noqa: E501 (a real log line reads best whole)
    )
    assert event.ts is None and event.event_class == "isr_shrink"


def test_none_and_non_text_input() -> None:
    assert taxonomy.classify(None).event_class == taxonomy.UNKNOWN  # type: ignore[arg-type]
    assert taxonomy.classify_many([b"\xff", "ok", b""])[1].event_class == taxonomy.UNKNOWN


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    event = taxonomy.classify(text)
    assert event.event_class in (*taxonomy.CLASSES, taxonomy.UNKNOWN)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='[]() ,:=-0123456789INFOWARN{}"|\t\nabc', max_size=300))
def test_layout_like_text_never_raises(text: str) -> None:
    for event in taxonomy.classify_many(text.split("\n")):
        assert event.event_class in (*taxonomy.CLASSES, taxonomy.UNKNOWN)
    list(taxonomy.classify_records(text.split("\n")))
