"""The note for an Incident, for callers that only want markdown (service layer, UI, MCP).

The work is in app.note; this keeps the old entry point the pipeline's callers use.
"""

from __future__ import annotations

from app.model import Incident


def note_markdown(incident: Incident, no_llm: bool = True, checked: list[str] | None = None) -> str:
    """Markdown note: the deterministic template when `no_llm`, else an LLM draft if one is configured."""
    from app.note import write_note

    return write_note(incident, mode="template" if no_llm else "auto", checked=checked).markdown
