"""Every generated artefact as {repo-relative path: text}; write them, or diff them against the tree.

Pure until `write`/`diff`: the same inputs give byte-identical text (sorted keys), so a
test can regenerate and compare with what is committed.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from app.rules.config import DEFAULT, RulesConfig
from app.rules.kafka import kafka_groups
from app.rules.render import rules_yaml
from app.rules.unittests import test_file
from app.signals import Library, load_library

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = "recording_rules/kafka.rules.yml"
TEST_FILE = "recording_rules/tests/kafka.rules.test.yml"


def rule_artefacts(library: Library | None = None, cfg: RulesConfig = DEFAULT) -> dict[str, str]:
    groups = kafka_groups(library or load_library(), cfg)
    alerts = [a for g in groups for a in g.alerts]
    return {
        RULES_FILE: rules_yaml(groups, cfg),
        TEST_FILE: test_file(["../kafka.rules.yml"], alerts, cfg),
    }


def artefacts(library: Library | None = None, cfg: RulesConfig = DEFAULT) -> dict[str, str]:
    from app.rules.dashboards import dashboard_artefacts

    return {**rule_artefacts(library, cfg), **dashboard_artefacts(library or load_library(), cfg)}


def write(root: Path = REPO, files: dict[str, str] | None = None) -> list[Path]:
    files = artefacts() if files is None else files
    written = []
    for rel, text in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def diff(root: Path = REPO, files: dict[str, str] | None = None) -> str:
    """Unified diff of committed vs freshly generated files ('' when they agree)."""
    files = artefacts() if files is None else files
    out = []
    for rel, text in sorted(files.items()):
        path = root / rel
        old = path.read_text() if path.exists() else ""
        if old != text:
            out.extend(
                difflib.unified_diff(old.splitlines(True), text.splitlines(True), f"a/{rel}", f"b/{rel}")
            )
            if not path.exists():
                out.append(f"(missing: {rel})\n")
    return "".join(out)
