"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
import sys

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
    errors = []
    # One retry: on a loaded 2-core machine a start can miss its deadline; both causes are kept.
    for _attempt in range(2):
        try:
            stack.start(timeout=300)
            break
        except StackError as exc:
            stack.stop(grace=5)
            kept = stack.root.parent / f"failed-start-{_attempt + 1}"
            shutil.rmtree(kept, ignore_errors=True)
            # The next start wipes the run folder; keep this attempt's logs for the report.
            shutil.copytree(stack.root, kept, ignore=shutil.ignore_patterns("data", "*.lock"))
            errors.append(f"{exc}\n(logs of this attempt kept in {kept})")
            print(f"real_stack: start failed: {errors[-1]}", file=sys.stderr)
    else:
        pytest.fail("the real stack did not become healthy:\n" + "\n--- retry:\n".join(errors), pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()
