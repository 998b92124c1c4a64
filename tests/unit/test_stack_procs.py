"""Process control of stack components: groups, stop/continue, exit detection, no orphans."""

from __future__ import annotations

import signal
import time

import psutil

from stack import procs


def test_terminate_stops_the_whole_process_group(tmp_path):
    # The shell starts a grandchild; signalling the group must end both.
    p = procs.spawn(["/bin/sh", "-c", "sleep 60 & sleep 60; wait"], log=tmp_path / "out.log")
    time.sleep(0.3)
    family = [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
    assert len(family) >= 2
    procs.terminate([p], grace=3)
    assert not procs.is_alive(p)
    time.sleep(0.2)
    assert not any(x.is_running() and x.status() != psutil.STATUS_ZOMBIE for x in family)


def test_sigstop_is_seen_as_stopped_and_sigcont_resumes(tmp_path):
    p = procs.spawn(["/bin/sleep", "60"], log=tmp_path / "out.log")
    try:
        procs.send(p, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not procs.is_stopped(p) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert procs.is_stopped(p) and procs.is_alive(p)
        procs.send(p, signal.SIGCONT)
        time.sleep(0.2)
        assert not procs.is_stopped(p)
    finally:
        procs.terminate([p], grace=2)


def test_a_child_that_exits_at_once_is_not_alive_and_its_output_is_kept(tmp_path):
    log = tmp_path / "out.log"
    p = procs.spawn(["/bin/sh", "-c", "echo cannot start; exit 3"], log=log)
    assert procs.wait_exit(p, 5)
    assert "cannot start" in log.read_text()


def test_a_recycled_pid_is_not_mistaken_for_the_component(tmp_path):
    p = procs.spawn(["/bin/sleep", "60"], log=tmp_path / "out.log")
    try:
        impostor = procs.Proc(pid=p.pid, create_time=p.create_time - 100)
        assert procs.is_alive(p)
        assert not procs.is_alive(impostor)
    finally:
        procs.terminate([p], grace=2)
