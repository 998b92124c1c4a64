import dataclasses
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import jinja2
import pytest
from markdown_it import MarkdownIt

from app.config import Config
from app.model import Incident
from app.note import write_note
from app.note.templates import render
from tests.unit.note.fixtures import INJECTION, NOW, SECRET, broker_down, quiet

BERLIN = ZoneInfo("Europe/Berlin")


def note(incident=None, **kw):
    kw.setdefault("config", Config())
    return write_note(incident or broker_down(), mode="template", now=NOW, tz=BERLIN, **kw)


def tokens(markdown):
    flat = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def test_template_note_has_every_section_with_exact_sentences():
    md = note().markdown
    assert md.startswith("# Broker down on broker 2\n")
    for heading in [
        "## Impact",
        "## What changed",
        "## Likely causes",
        "## How to verify",
        "## Suggested actions",
        "## Data missing",
        "## Evidence",
    ]:
        assert f"\n{heading}\n" in md
    assert (
        "- **Window:** 2026-11-01 12:00:00 UTC (13:00:00 CET) to 2026-11-01 12:15:00 UTC (13:15:00 CET)" in md
    )
    assert "- **Started:** 2026-11-01 12:07:30 UTC (13:07:30 CET)" in md
    assert (
        "Broker 2 went down; 12 partitions under-replicated on brokers 1 and 3. "
        "(evidence: E1, E2, E3, E4, E5)"
    ) in md
    assert "| 2026-11-01 12:07:30 UTC | 13:07:30 CET | broker up on broker 2: 1 → 0 | E1 |" in md
    assert (
        "1. **broker down** (high, confidence 85%): Broker 2 stopped: its scrape target went down and its "
        "followers left every ISR. Evidence: E1, E2, E3, E4, E5."
    ) in md
    assert (
        "2. **network partition** (low, confidence 30%): Peers could not connect to broker 2. Evidence: E5."
        in md
    )
    assert "- **Restart broker 2** (risk: medium; for broker down)" in md
    assert "- logs: broker 2 sent no lines after 12:07:30" in md
    assert "- Source `logs`: partial, broker 2 stream ended early" in md
    assert md.rstrip().endswith(
        "_Deterministic note (no LLM), generated 2026-11-02 09:00:00 UTC (10:00:00 CET) "
        "by Kafka Incident Lens._"
    )


def test_every_evidence_reference_resolves():
    incident = broker_down()
    md = note(incident).markdown
    cited = set(re.findall(r"\bE\d+\b", md))
    assert cited == {e.id for e in incident.evidence}


def test_markdown_has_no_raw_html_and_untrusted_text_stays_in_code():
    md = note().markdown
    found = tokens(md)
    assert not [t for t in found if t.type in ("html_block", "html_inline")]
    holders = [t for t in found if "IGNORE ALL PREVIOUS" in t.content]
    assert holders and all(t.type == "fence" for t in holders)
    # The sample's own ``` could not close its fence: the fence is longer.
    fence = next(t for t in found if t.type == "fence" and "IGNORE" in t.content)
    assert fence.markup == "````"
    assert "``` now" in fence.content
    assert len([t for t in found if t.type == "table_open"]) == 1


def test_secrets_never_reach_the_note():
    md = note().markdown
    assert SECRET not in md
    assert "sasl.jaas.config=[REDACTED]" in md
    assert INJECTION.split("``` ")[0] in md  # the rest of the line is still shown, as data


def test_grafana_explore_links_when_grafana_is_configured():
    config = Config(grafana_url="http://grafana:3000", grafana_prometheus_uid="prom", grafana_loki_uid="loki")
    md = note(config=config).markdown
    links = re.findall(r"\[open in Grafana Explore\]\(([^)]+)\)", md)
    assert len(links) == 5
    assert links[0].startswith("http://grafana:3000/explore?schemaVersion=1&orgId=1&panes=")
    assert "1793534400000" in links[0]  # window start in epoch ms
    assert "Grafana Explore" not in note().markdown  # no Grafana configured, no link


def test_quiet_incident_note_says_what_was_checked():
    md = note(quiet(), checked=["under_replicated_partitions", "broker_up"]).markdown
    assert md.startswith("# No incident found on lab\n")
    assert (
        "Nothing changed regime between 2026-11-01 12:00:00 UTC (13:00:00 CET) and "
        "2026-11-01 12:15:00 UTC (13:15:00 CET)."
    ) in md
    assert "- **Signals:** `broker_up`, `under_replicated_partitions`" in md
    assert "- **Source logs:** no_data, Loki returned no lines" in md
    assert "## Likely causes" not in md
    assert len(md.splitlines()) < 25


def test_quiet_incident_never_calls_an_llm():
    class Exploding:
        name, model = "boom", "boom"

        def complete(self, *a, **k):
            raise AssertionError("a quiet window must not be sent to an LLM")

    result = write_note(quiet(), mode="llm", config=Config(), now=NOW, tz=BERLIN, backend=Exploding())
    assert result.kind == "template"


def test_the_clock_is_passed_in_not_read():
    a = note().markdown
    b = write_note(
        broker_down(), mode="template", config=Config(), now=NOW + timedelta(days=1), tz=BERLIN
    ).markdown
    diff = [(x, y) for x, y in zip(a.splitlines(), b.splitlines(), strict=True) if x != y]
    assert diff == [(a.splitlines()[-1], b.splitlines()[-1])]
    assert "2026-11-03 09:00:00 UTC" in diff[0][1]


def test_local_time_follows_the_given_zone():
    md = write_note(
        broker_down(), mode="template", config=Config(), now=NOW, tz=ZoneInfo("America/New_York")
    ).markdown
    assert "- **Started:** 2026-11-01 12:07:30 UTC (07:07:30 EST)" in md


def test_templates_are_strict_about_missing_variables():
    with pytest.raises(jinja2.UndefinedError):
        render("note.md.j2", incident=broker_down())


def test_incident_without_hypotheses_or_queries_still_renders():
    incident = broker_down()
    bare = dataclasses.replace(
        incident,
        hypotheses=[],
        evidence=[dataclasses.replace(e, query="", sample="") for e in incident.evidence],
    )
    md = note(bare).markdown
    assert "- No queries were recorded with this evidence." in md
    assert "- No action is suggested from this evidence alone; verify the causes above first." in md
    assert "1. **unknown** (low): No rule matched the evidence." in md


def test_note_json_form_round_trips():
    result = note()
    data = result.to_dict()
    assert data["kind"] == "template"
    assert data["markdown"] == result.markdown
    assert data["draft"]["impact"]["evidence"] == ["E1", "E2", "E3", "E4", "E5"]
    assert data["generated_at"] == "2026-11-02T09:00:00.000Z"
    assert isinstance(Incident.from_json(broker_down().to_json()), Incident)


def test_long_texts_from_correlation_are_cut_not_rejected():
    incident = broker_down()
    long = dataclasses.replace(
        incident,
        summary="word " * 200,
        hypotheses=[dataclasses.replace(incident.hypotheses[0], cause="c" * 300, summary="s" * 900)],
    )
    md = note(long).markdown
    assert "…" in md
    assert "## Likely causes" in md


def test_local_time_keeps_the_date_when_it_differs_from_utc():
    md = write_note(
        broker_down(), mode="template", config=Config(), now=NOW, tz=ZoneInfo("Pacific/Kiritimati")
    ).markdown
    assert (
        "| 2026-11-01 12:07:30 UTC | 2026-11-02 02:07:30 UTC+1400 | broker up on broker 2: 1 → 0 | E1 |" in md
    )


def test_the_note_package_stays_below_the_ui():
    import subprocess
    import sys

    code = (
        "import sys, app.note, app.render, app.config, app.redact; "
        "bad = [m for m in sys.modules if m.startswith(('streamlit', 'app.ui', 'app.mcp_server', 'mcp'))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
