"""The incident note: an evidence-checked LLM draft or a deterministic template.

Public surface:
    write_note(incident, mode, config, now, tz, backend, checked) -> Note
    Note (.markdown, .to_dict(), .accounting()), Usage
    make_backend(llm_config) -> Backend | None
    Backend, Completion, BackendError (and BackendTimeout, BackendOverloaded)
"""

from app.note.backend import Backend, BackendError, BackendOverloaded, BackendTimeout, Completion
from app.note.writer import Note, Usage, make_backend, write_note

__all__ = [
    "Backend",
    "BackendError",
    "BackendOverloaded",
    "BackendTimeout",
    "Completion",
    "Note",
    "Usage",
    "make_backend",
    "write_note",
]
