"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def real_stack():
    """The real local stack (Kafka x3, Prometheus, Loki, shipper, lag exporter) as a `stack.Stack`.

    Reuses a healthy running stack (and leaves it running); otherwise starts a fresh one and stops
    it at the end of the session. Never skips: missing install artifacts or a stack that cannot
    become healthy fail the test with the cause and the log to read.
    """
    from stack import Stack, StackError, StackNotRunning
    from stack.install import artifacts

    missing = artifacts().missing()
    if missing:
        pytest.fail(
            "the real stack is not installed (missing: " + "; ".join(missing) + "). "
            "Run `make test-deps` or `.venv/bin/python -m stack install`.",
            pytrace=False,
        )
    try:
        running = Stack.attach()
    except StackNotRunning:
        running = None
    if running is not None and running.is_running():
        try:
            running.wait_healthy(timeout=120)
            yield running
            return
        except StackError:
            running.stop(grace=5)  # unhealthy leftovers: replace them with a fresh stack
    stack = Stack()
    try:
        stack.start(timeout=300)
    except StackError as exc:
        stack.stop(grace=5)
        pytest.fail(f"the real stack did not become healthy: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()
