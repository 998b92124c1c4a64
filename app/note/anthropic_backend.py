"""Anthropic Messages API through the official SDK: one forced tool call per attempt.

The note's sections are the tool's input schema and `tool_choice` forces that tool, so
the answer is structured data, not prose to parse. The SDK retries overload (529), rate
limits (429), 5xx and connection errors itself with backoff (`max_retries`); every call
has a timeout. The API key comes from configuration (the environment), never from here.
"""

from __future__ import annotations

from typing import Any

import anthropic

from app.note.backend import BackendError, BackendOverloaded, BackendTimeout, Completion
from app.note.draft import TOOL_NAME

TOOL_DESCRIPTION = (
    "Record the incident note's sections. Every item cites the evidence ids it rests on; "
    "numbers only from the evidence; no timestamps."
)


class AnthropicBackend:
    name = "anthropic"
    answer_format = "tool"

    def __init__(
        self,
        api_key: str,
        model: str,
        timeout: float = 60.0,
        max_retries: int = 2,
        client: anthropic.Anthropic | None = None,
        **client_options: Any,
    ) -> None:
        self.model = model
        self._client = client or anthropic.Anthropic(
            api_key=api_key, timeout=timeout, max_retries=max_retries, **client_options
        )

    def close(self) -> None:
        self._client.close()

    def complete(self, system: str, user: str, schema: dict[str, Any], max_tokens: int) -> Completion:
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
                tools=[{"name": TOOL_NAME, "description": TOOL_DESCRIPTION, "input_schema": schema}],
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )
        except anthropic.APITimeoutError:
            raise BackendTimeout(
                f"Anthropic API did not answer within the timeout (model {self.model})"
            ) from None
        except anthropic.APIConnectionError as exc:
            raise BackendError(f"cannot reach the Anthropic API: {exc.__class__.__name__}") from None
        except anthropic.APIStatusError as exc:
            raise _status_error(exc, self.model) from None
        except anthropic.AnthropicError as exc:  # credentials, response validation: still a clear fallback
            raise BackendError(f"Anthropic SDK error: {exc.__class__.__name__}") from None
        data = None
        texts = []
        for block in message.content:
            if block.type == "tool_use" and block.name == TOOL_NAME and isinstance(block.input, dict):
                data = block.input
            elif block.type == "text":
                texts.append(block.text)
        return Completion(
            data=data,
            input_tokens=message.usage.input_tokens or 0,
            output_tokens=message.usage.output_tokens or 0,
            stop_reason=message.stop_reason,
            text="\n".join(texts),
        )


def _status_error(exc: anthropic.APIStatusError, model: str) -> BackendError:
    status = exc.status_code
    if status in (429, 529) or isinstance(exc, anthropic.RateLimitError):
        return BackendOverloaded(f"Anthropic API is overloaded or rate limited (HTTP {status}) after retries")
    if status == 401:
        return BackendError("Anthropic API rejected the key (HTTP 401); check ANTHROPIC_API_KEY")
    if status == 404:
        return BackendError(f"Anthropic API does not know model {model!r} (HTTP 404); check LENS_LLM_MODEL")
    if status == 408:
        return BackendTimeout("Anthropic API timed out the request (HTTP 408)")
    # The error body is the API's own message; it never holds our key.
    detail = getattr(exc, "message", "") or ""
    return BackendError(f"Anthropic API error HTTP {status}: {detail[:200]}")
