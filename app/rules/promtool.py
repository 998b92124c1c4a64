"""promtool at the edge: check and unit-test rule files, with a timeout and a clear error."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 120


class PromtoolMissing(RuntimeError):
    """promtool is not installed."""


@dataclass(frozen=True)
class PromtoolResult:
    ok: bool
    output: str


def binary() -> str:
    path = shutil.which("promtool")
    if not path:
        raise PromtoolMissing(
            "promtool not found; install Debian's prometheus package "
            "(apt-get install -y --no-install-recommends prometheus) or run `python -m stack install`"
        )
    return path


def _run(args: list[str], cwd: Path | None = None) -> PromtoolResult:
    try:
        res = subprocess.run([binary(), *args], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=cwd)
    except subprocess.TimeoutExpired:
        return PromtoolResult(False, f"promtool {' '.join(args)} timed out after {TIMEOUT_S}s")
    return PromtoolResult(res.returncode == 0, (res.stdout + res.stderr).strip())


def check_rules(*files: Path) -> PromtoolResult:
    return _run(["check", "rules", *map(str, files)])


def test_rules(*files: Path) -> PromtoolResult:
    # promtool resolves rule_files relative to the test file's folder.
    return _run(["test", "rules", *(str(Path(f).resolve()) for f in files)])
