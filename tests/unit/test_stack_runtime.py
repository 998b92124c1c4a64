"""Stack start-up errors say what is wrong and what to do, before anything is started."""

from __future__ import annotations

import socket

import pytest

from stack import StackConfig, StackError, StackNotRunning
from stack.install import Artifacts
from stack.runtime import Stack


def test_missing_install_names_the_artifacts_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("KIL_CACHE_DIR", str(tmp_path / "empty-cache"))
    stack = Stack(StackConfig(), root=tmp_path / "run")
    with pytest.raises(StackError) as err:
        stack.start(timeout=5)
    msg = str(err.value)
    assert "python -m stack install" in msg
    assert "Kafka 4.3.1 jars" in msg and "Loki binary" in msg and "JMX exporter agent" in msg


def test_busy_port_is_named_with_the_variable_that_moves_it(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / ".complete").write_text("x")
    (tmp_path / "agent.jar").write_text("x")
    (tmp_path / "loki").write_text("x")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(StackConfig(loki_port=port), root=tmp_path / "run")
        stack.art = Artifacts(kafka_lib=lib, jmx_agent=tmp_path / "agent.jar", loki=tmp_path / "loki")
        with pytest.raises(StackError) as err:
            stack._preflight()
    assert f"loki port {port}" in str(err.value)
    assert "STACK_LOKI_PORT" in str(err.value)


def test_attach_without_state_says_how_to_start(tmp_path):
    with pytest.raises(StackNotRunning, match="python -m stack up"):
        Stack.attach(tmp_path / "nothing")


def test_unknown_broker_is_rejected(tmp_path):
    stack = Stack(StackConfig(), root=tmp_path / "run")
    with pytest.raises(ValueError, match=r"brokers are \[1, 2, 3\]"):
        stack.node_log_dir(4)


def test_bad_port_variable_is_explained(monkeypatch):
    monkeypatch.setenv("STACK_PROMETHEUS_PORT", "ninety")
    with pytest.raises(ValueError, match="STACK_PROMETHEUS_PORT='ninety' is not a port number"):
        StackConfig.from_env()
