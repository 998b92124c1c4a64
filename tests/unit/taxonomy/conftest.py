from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kafka_logs"


def read_lines(rel: str) -> list[str]:
    return (FIXTURES / rel).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def labels() -> list[dict]:
    return yaml.safe_load((FIXTURES / "labels.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def quoted() -> list[dict]:
    return [
        json.loads(x) for x in (FIXTURES / "notes-quoted.jsonl").read_text(encoding="utf-8").splitlines() if x
    ]
