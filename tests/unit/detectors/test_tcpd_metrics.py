"""The TCPD benchmark's F1 and cover reproduce the README's worked examples."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "tcpd.py"


@pytest.fixture(scope="module")
def tcpd():
    spec = importlib.util.spec_from_file_location("bench_tcpd", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_f1_examples(tcpd):
    assert tcpd.f_measure({"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}, [10, 20]) == pytest.approx(
        1.0
    )
    assert tcpd.f_measure({"1": [], "2": [10], "3": [50]}, [10]) == pytest.approx(0.9091, abs=1e-4)
    assert tcpd.f_measure({"1": [], "2": [10], "3": [50]}, []) == pytest.approx(0.8, abs=1e-4)


def test_cover_examples(tcpd):
    assert tcpd.covering({"1": [10, 20], "2": [10], "3": [0, 5]}, [10, 20], 45) == pytest.approx(
        0.7963, abs=1e-4
    )
    assert tcpd.covering({"1": [], "2": [10], "3": [40]}, [10], 45) == pytest.approx(0.7954, abs=1e-4)
    assert tcpd.covering({"1": [], "2": [10], "3": [40]}, [], 45) == pytest.approx(0.8189, abs=1e-4)


def test_predictions_at_the_ends_are_dropped(tcpd):
    assert tcpd.clean_predictions([0, 1, 5, 5, 98, 99], 100) == [1, 5, 98]
