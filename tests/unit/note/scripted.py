"""Scripted Messages API and chat-completions responses for the LLM tests.

These responses are written by hand in the documented shapes of the Anthropic Messages API
(tool_use content blocks, usage counts, the 529 overloaded_error body) and of OpenAI-style
/chat/completions. They are scripted, not captured from the live services: no network
reaches either service from the test machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from app.note.draft import TOOL_NAME


def tool_use_message(
    answer: dict[str, Any] | None,
    input_tokens: int = 2345,
    output_tokens: int = 412,
    model: str = "claude-sonnet-4-6",
    stop_reason: str = "tool_use",
    text: str | None = None,
) -> dict:
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    if answer is not None:
        content.append(
            {"type": "tool_use", "id": "toolu_01ScriptedNoteCall", "name": TOOL_NAME, "input": answer}
        )
    return {
        "id": "msg_01ScriptedResponse",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


class Script:
    """A replaying transport handler: each request gets the next scripted step and is recorded."""

    def __init__(self, steps: list[Callable[[httpx2.Request], httpx2.Response] | tuple[int, dict]]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected extra request {request.method} {request.url}")
        step = self.steps.pop(0)
        if callable(step):
            return step(request)
        status, body = step
        # retry-after-ms keeps the SDK's backoff short in tests; the API sends retry-after on 529 too.
        headers = {"retry-after-ms": "10"} if status >= 500 or status == 429 else {}
        headers["request-id"] = "req_scripted"
        return httpx2.Response(status, json=body, headers=headers)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]
