"""What every LLM backend does: one structured completion, with its token counts.

Exceptions:
    BackendError            the call failed (after the backend's own retries); message says why
        BackendTimeout      no answer within the configured timeout
        BackendOverloaded   the service kept answering "overloaded" / "rate limited"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class BackendError(Exception):
    """The LLM call failed; the note falls back to the template and says this message."""


class BackendTimeout(BackendError):
    pass


class BackendOverloaded(BackendError):
    pass


@dataclass(frozen=True)
class Completion:
    data: dict[str, Any] | None  # the structured answer, None when the model gave none
    input_tokens: int
    output_tokens: int
    stop_reason: str | None = None
    text: str = ""  # any free text the model sent instead of (or next to) the structure


class Backend(Protocol):
    name: str
    model: str
    answer_format: str  # "tool": a forced tool call; "json": a bare JSON object (sets the prompt's last rule)

    def complete(self, system: str, user: str, schema: dict[str, Any], max_tokens: int) -> Completion: ...
