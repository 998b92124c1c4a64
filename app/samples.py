"""Find the recorded sample bundles shipped with the app."""

from __future__ import annotations

import os
from pathlib import Path

SAMPLES_DIR = Path(os.environ.get("KIL_SAMPLES_DIR", Path(__file__).resolve().parents[1] / "samples"))


def sample_bundles(root: Path | None = None) -> dict[str, Path]:
    """Bundle name -> path, for every directory under `root` that has a manifest."""
    root = root or SAMPLES_DIR
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "manifest.json").is_file()}
