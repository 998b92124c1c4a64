"""`python -m stack install`: fetch and build everything the local stack and the tests need.

Idempotent and cached: each artifact lands in the per-user cache (config.cache_dir()) under a
folder named after a hash of its inputs, with a `.complete` marker written last, so a second run
only checks markers (well under a second) and a fresh clone reuses what an earlier clone built.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stack import config

KAFKA_POM = config.PACKAGE_DIR / "kafka" / "pom.xml"
LOKI_GO_MOD = config.PACKAGE_DIR / "loki" / "go.mod"
LOKI_GO_SUM = config.PACKAGE_DIR / "loki" / "go.sum"
GO_FALLBACKS = (Path("/usr/local/go/bin/go"), Path.home() / "go" / "bin" / "go", Path("/usr/lib/go/bin/go"))
APT_PACKAGES = {"prometheus": "prometheus", "chromium": "chromium", "chromium-driver": "chromedriver"}
MAVEN_TIMEOUT_S = 900
GO_BUILD_TIMEOUT_S = 2400
APT_TIMEOUT_S = 1200


class InstallError(RuntimeError):
    """A step failed; the message says which, why, and where its output is."""


@dataclass(frozen=True)
class Artifacts:
    """Paths of installed artifacts; `missing()` lists what `install` still has to do."""

    kafka_lib: Path
    jmx_agent: Path
    loki: Path

    def missing(self) -> list[str]:
        problems = []
        if not (self.kafka_lib / ".complete").exists():
            problems.append(f"Kafka {config.KAFKA_VERSION} jars ({self.kafka_lib})")
        if not self.jmx_agent.exists():
            problems.append(f"JMX exporter agent ({self.jmx_agent})")
        if not self.loki.exists():
            problems.append(f"Loki binary ({self.loki})")
        if not shutil.which("prometheus"):
            problems.append("prometheus (Debian package prometheus)")
        return problems


def _is_test_only(package: str) -> bool:
    # Chromium is only for the browser tests; the stack itself runs without it.
    return package.startswith("chromium")


def _digest(*paths: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def artifacts() -> Artifacts:
    cache = config.cache_dir()
    return Artifacts(
        kafka_lib=cache / f"kafka-{config.KAFKA_VERSION}-{_digest(KAFKA_POM)}" / "lib",
        jmx_agent=cache / "jmx" / f"jmx_prometheus_javaagent-{config.JMX_AGENT_VERSION}.jar",
        loki=cache / f"loki-{config.LOKI_VERSION}-{_digest(LOKI_GO_MOD, LOKI_GO_SUM)}" / "loki",
    )


def _run(
    argv: list[str],
    *,
    what: str,
    log: Path,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise InstallError(f"{what}: {argv[0]} is not installed") from None
        except subprocess.TimeoutExpired:
            raise InstallError(f"{what}: timed out after {timeout:.0f}s; output in {log}") from None
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise InstallError(f"{what} failed (exit {proc.returncode}); full output in {log}\n{tail}")


def _require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if not path:
        raise InstallError(f"`{name}` is not on PATH; {hint}")
    return path


def install_kafka(art: Artifacts, logs: Path) -> bool:
    if (art.kafka_lib / ".complete").exists():
        return False
    mvn = _require_tool("mvn", "install Maven (Debian package maven)")
    tmp = art.kafka_lib.with_name("lib.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ],
        what="resolving Kafka jars with Maven",
        log=logs / "maven-kafka.log",
        timeout=MAVEN_TIMEOUT_S,
    )
    if not (tmp / f"kafka_2.13-{config.KAFKA_VERSION}.jar").exists():
        raise InstallError(f"Maven finished but kafka_2.13-{config.KAFKA_VERSION}.jar is not in {tmp}")
    shutil.rmtree(art.kafka_lib, ignore_errors=True)
    tmp.rename(art.kafka_lib)
    (art.kafka_lib / ".complete").write_text(config.KAFKA_VERSION)
    return True


def install_jmx_agent(art: Artifacts, logs: Path) -> bool:
    if art.jmx_agent.exists():
        return False
    mvn = _require_tool("mvn", "install Maven (Debian package maven)")
    folder = art.jmx_agent.parent
    folder.mkdir(parents=True, exist_ok=True)
    coords = f"io.prometheus.jmx:jmx_prometheus_javaagent:{config.JMX_AGENT_VERSION}"
    # cwd is the (pom-less) target folder so Maven runs the goal without a project.
    _run(
        [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={coords}", f"-DoutputDirectory={folder}"],
        what=f"fetching {coords}",
        log=logs / "maven-jmx-agent.log",
        timeout=MAVEN_TIMEOUT_S,
        cwd=folder,
    )
    if not art.jmx_agent.exists():
        raise InstallError(f"Maven finished but {art.jmx_agent} is missing")
    return True


def install_apt(logs: Path, *, include_browser: bool = True) -> list[str]:
    wanted = [p for p in APT_PACKAGES if include_browser or not _is_test_only(p)]
    missing = [p for p in wanted if not shutil.which(APT_PACKAGES[p])]
    if not missing:
        return []
    if os.geteuid() != 0:
        raise InstallError(
            f"missing {', '.join(missing)}; run as root: "
            f"apt-get update && apt-get install -y {' '.join(missing)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(
        ["apt-get", "update"],
        what="apt-get update",
        log=logs / "apt-update.log",
        timeout=APT_TIMEOUT_S,
        env=env,
    )
    # Prometheus without recommends (they pull in node-exporter and its service); Chromium with
    # them (fonts), so pages render in the browser tests as they would for a user.
    groups = [
        ([p for p in missing if not _is_test_only(p)], ["--no-install-recommends"]),
        ([p for p in missing if _is_test_only(p)], []),
    ]
    for packages, flags in groups:
        if packages:
            _run(
                ["apt-get", "install", "-y", *flags, *packages],
                what=f"apt-get install {' '.join(packages)}",
                log=logs / f"apt-install-{packages[0]}.log",
                timeout=APT_TIMEOUT_S,
                env=env,
            )
    still = [p for p in missing if not shutil.which(APT_PACKAGES[p])]
    if still:
        raise InstallError(
            f"apt-get installed {', '.join(missing)} but {', '.join(still)} is still not on PATH"
        )
    return missing


def install_loki(art: Artifacts, logs: Path) -> bool:
    if art.loki.exists():
        return False
    # The Go toolchain often lives outside the default PATH of non-login shells (CI).
    go = shutil.which("go") or next((str(p) for p in GO_FALLBACKS if p.exists()), None)
    if not go:
        raise InstallError("`go` is not on PATH (nor in /usr/local/go/bin); install Go 1.21+")
    build = config.cache_dir() / "loki-build"
    build.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LOKI_GO_MOD, build / "go.mod")
    shutil.copyfile(LOKI_GO_SUM, build / "go.sum")
    art.loki.parent.mkdir(parents=True, exist_ok=True)
    tmp = art.loki.with_name("loki.partial")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
    # GOMODCACHE and GOCACHE stay at the user's defaults (~/go/pkg/mod, ~/.cache/go-build) so
    # that later clones and CI runs on this machine reuse the downloads and the compiled packages.
    _run(
        [go, "build", "-trimpath", "-o", str(tmp), f"{config.LOKI_MODULE}/cmd/loki"],
        what=f"building Loki {config.LOKI_VERSION}",
        log=logs / "go-build-loki.log",
        timeout=GO_BUILD_TIMEOUT_S,
        cwd=build,
        env=env,
    )
    tmp.rename(art.loki)
    return True


def check_python() -> None:
    missing = []
    for module in ("kafka", "prometheus_client", "requests", "psutil", "yaml"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise InstallError(
            f"Python modules missing: {', '.join(missing)}; run `make venv` (pip install -r requirements.txt)"
        )


def check_java() -> None:
    java = _require_tool("java", "install a Java 17+ runtime (Debian package openjdk-17-jre-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    first = out.splitlines()[0] if out else ""
    try:
        major = int(first.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        return
    if major < 17:
        raise InstallError(f"Kafka {config.KAFKA_VERSION} needs Java 17+, found: {first}")


def install(*, include_browser: bool = True, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Install everything; returns seconds spent per step. Raises InstallError with a clear cause."""
    logs = config.stack_dir() / "install-logs"
    art = artifacts()
    config.cache_dir().mkdir(parents=True, exist_ok=True)
    # One install at a time per cache: concurrent Maven/Go runs would write the same partial files.
    with (config.cache_dir() / "install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_steps(art, logs, include_browser, echo)


def _install_steps(
    art: Artifacts, logs: Path, include_browser: bool, echo: Callable[[str], None]
) -> dict[str, float]:
    timings: dict[str, float] = {}
    steps: list[tuple[str, Callable[[], object]]] = [
        ("python", check_python),
        ("java", check_java),
        ("apt", lambda: install_apt(logs, include_browser=include_browser)),
        ("kafka", lambda: install_kafka(art, logs)),
        ("jmx-agent", lambda: install_jmx_agent(art, logs)),
        ("loki", lambda: install_loki(art, logs)),
    ]
    for name, step in steps:
        t0 = time.monotonic()
        did = step()
        timings[name] = time.monotonic() - t0
        state = "installed" if did else "ok"
        if did and isinstance(did, list):
            state = f"installed {' '.join(did)}"
        echo(f"  {name:<10} {state:<28} {timings[name]:6.1f}s")
    return timings


def main() -> int:
    t0 = time.monotonic()
    print(f"stack install: cache {config.cache_dir()}")
    try:
        install()
    except InstallError as exc:
        print(f"stack install FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"stack install: done in {time.monotonic() - t0:.1f}s")
    return 0
