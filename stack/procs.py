"""Starting, finding and stopping the stack's OS processes.

Each component runs in its own session (process group), so a signal to the group reaches every
child and nothing is orphaned. The pid and start time are kept so a recycled pid is never
mistaken for a component.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# Popen objects of children started by this Python process, kept so exited ones are reaped
# (otherwise a killed broker would linger as a zombie that still "exists").
_children: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class Proc:
    pid: int
    create_time: float

    def to_dict(self) -> dict:
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_dict(cls, data: dict | None) -> Proc | None:
        if not data:
            return None
        return cls(pid=int(data["pid"]), create_time=float(data["create_time"]))


def spawn(argv: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    _children[child.pid] = child
    try:
        created = psutil.Process(child.pid).create_time()
    except psutil.Error:
        created = 0.0  # exited at once; callers see it as not alive and report its log
    return Proc(pid=child.pid, create_time=created)


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)


def process(proc: Proc | None) -> psutil.Process | None:
    """The live process for `proc`, or None if it exited (zombies count as exited)."""
    if proc is None:
        return None
    _reap(proc.pid)
    try:
        p = psutil.Process(proc.pid)
        if abs(p.create_time() - proc.create_time) > 1.0 or p.status() == psutil.STATUS_ZOMBIE:
            return None
        return p
    except psutil.Error:
        return None


def is_alive(proc: Proc | None) -> bool:
    return process(proc) is not None


def is_stopped(proc: Proc | None) -> bool:
    p = process(proc)
    return p is not None and p.status() == psutil.STATUS_STOPPED


def send(proc: Proc, sig: int) -> None:
    """Signal the component's whole process group."""
    if process(proc) is None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(proc.pid, sig)


def wait_exit(proc: Proc, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(proc):
            return True
        time.sleep(0.1)
    return not is_alive(proc)


def terminate(procs: list[Proc], grace: float = 10.0) -> None:
    """SIGTERM every group (continuing stopped ones), then SIGKILL whatever outlives `grace`."""
    live = [p for p in procs if is_alive(p)]
    for p in live:
        send(p, signal.SIGTERM)
        send(p, signal.SIGCONT)
    deadline = time.monotonic() + grace
    for p in live:
        wait_exit(p, max(0.0, deadline - time.monotonic()))
    for p in live:
        if is_alive(p):
            send(p, signal.SIGKILL)
            wait_exit(p, 5.0)
