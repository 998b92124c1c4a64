"""`python -m app diagnose` note flags, on the recorded samples and the synthetic bundle."""

import json
import re
from pathlib import Path

import pytest

from app.cli import main
from app.model import Incident
from tests.synthetic_bundle import make_bundle
from tests.unit.note.test_openai_backend import Server, chat

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = sorted(p.parent for p in (ROOT / "samples").glob("*/manifest.json"))
LLM_ENV = [
    "ANTHROPIC_API_KEY",
    "LENS_LLM_BACKEND",
    "LENS_LLM_BASE_URL",
    "LENS_LLM_MODEL",
    "LENS_CONFIG",
    "LENS_LLM_API_KEY",
    "LENS_TIMEZONE",
]


@pytest.fixture(autouse=True)
def no_llm_from_the_developer_env(monkeypatch, tmp_path):
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./lens.yaml


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("b") / "synthetic_broker_down")


def incident_of(path, capsys) -> Incident:
    assert main(["diagnose", "--bundle", str(path), "--format", "json"]) == 0
    return Incident.from_json(capsys.readouterr().out)


@pytest.mark.parametrize("sample", [*SAMPLES, None], ids=[p.name for p in SAMPLES] + ["synthetic"])
def test_no_llm_markdown_note_is_complete_and_every_reference_resolves(sample, bundle, capsys):
    path = sample or bundle
    incident = incident_of(path, capsys)
    assert main(["diagnose", "--bundle", str(path), "--format", "md", "--no-llm"]) == 0
    out, err = capsys.readouterr()
    assert "note: deterministic template" in err
    assert "_Deterministic note (no LLM), generated " in out
    if incident.status == "quiet":
        assert out.startswith("# No incident found on ")
        return
    for heading in ["## Impact", "## What changed", "## Likely causes", "## How to verify", "## Evidence"]:
        assert heading in out
    known = {e.id for e in incident.evidence}
    assert known and set(re.findall(r"\bE\d+\b", out)) <= known
    for ident in known:
        assert f"**{ident}**" in out  # each piece of evidence is listed with its query


def test_note_json_carries_incident_and_note(bundle, capsys):
    assert main(["diagnose", "--bundle", str(bundle), "--format", "note-json", "--note", "template"]) == 0
    data = json.loads(capsys.readouterr().out)
    Incident.from_dict(data["incident"])
    assert data["note"]["kind"] == "template"
    assert data["note"]["markdown"].startswith("# ")
    assert data["note"]["draft"]["causes"]


def test_llm_note_from_a_local_server_via_the_cli(bundle, capsys, monkeypatch):
    incident = incident_of(bundle, capsys)
    first = incident.evidence[0].id
    answer = {
        "title": "A broker stopped",
        "impact": {"text": "A broker stopped and its partitions lost a replica.", "evidence": [first]},
        "timeline": [{"text": "The broker stopped.", "evidence": [first]}],
        "causes": [
            {
                "cause": "Broker down",
                "likelihood": "high",
                "text": "The evidence shows it.",
                "evidence": [first],
            }
        ],
    }
    server = Server()
    try:
        server.steps = [(200, chat(answer, prompt_tokens=1500, completion_tokens=200), {}, 0)]
        monkeypatch.setenv("LENS_LLM_BASE_URL", server.url)
        monkeypatch.setenv("LENS_LLM_MODEL", "qwen3:8b")
        assert main(["diagnose", "--bundle", str(bundle), "--note", "llm"]) == 0
    finally:
        server.close()
    out, err = capsys.readouterr()
    assert out.startswith("# A broker stopped\n")
    assert "note: llm via openai qwen3:8b: 1,500 input + 200 output tokens in 1 call, about $0.0000" in err
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        (
            {"LENS_LLM_BACKEND": "gpt"},
            [],
            "LENS_LLM_BACKEND='gpt' is not one of auto, anthropic, openai, none",
        ),
        ({"LENS_LLM_BACKEND": "anthropic"}, [], "needs ANTHROPIC_API_KEY"),
        ({"LENS_LLM_TIMEOUT": "-1"}, [], "LENS_LLM_TIMEOUT='-1' is below the minimum"),
        ({}, ["--note", "llm"], "--note llm needs an LLM"),
        ({}, ["--note", "llm", "--no-llm"], "contradict"),
    ],
)
def test_bad_configuration_exits_2_with_the_reason(bundle, capsys, monkeypatch, env, args, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["diagnose", "--bundle", str(bundle), *args]) == 2
    assert message in capsys.readouterr().err


def test_secret_in_the_config_file_exits_2_without_printing_it(bundle, capsys, tmp_path):
    path = tmp_path / "lens.yaml"
    path.write_text("llm:\n  api_key: sk-ant-never-print\n")
    assert main(["diagnose", "--bundle", str(bundle), "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "secrets come only from the environment" in err
    assert "never-print" not in err
