"""The one loader for prompts/: Jinja2 with StrictUndefined, our filters, no clock inside.

Templates never read the time or the environment: whoever renders passes `now` and `tz`.
A variable a template needs but did not get is an error, not an empty string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from app.note import format as fmt

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@cache
def environment(root: str = str(PROMPTS)) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # markdown and plain prompts; untrusted text goes through code/fence filters
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt.FILTERS)
    env.filters["local"] = fmt.local_time
    env.filters["both"] = fmt.both_times
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
