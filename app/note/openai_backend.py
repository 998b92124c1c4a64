"""OpenAI-compatible chat completions over plain HTTP (Ollama, vLLM, llama.cpp server).

For users who cannot send logs outside: the same prompts go to a server they run. The
answer is asked for as JSON matching the note's schema (`response_format: json_schema`,
which all three servers accept); a reply that is not that JSON is returned as `data=None`
and the fact checker treats it like any rejected draft. Retries only what is worth
retrying (429, 503, 529, connection failures), honouring a short Retry-After.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from app.note.backend import BackendError, BackendOverloaded, BackendTimeout, Completion

RETRY_STATUS = {429, 502, 503, 529}
MAX_RETRY_WAIT = 5.0


class OpenAICompatBackend:
    name = "openai"
    answer_format = "json"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), headers=headers, transport=transport
        )

    def complete(self, system: str, user: str, schema: dict[str, Any], max_tokens: int) -> Completion:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": max_tokens,
            "temperature": 0,
            # No "strict": servers that enforce OpenAI's strict subset reject length bounds; the
            # schema still steers decoding and pydantic plus the fact checker validate the answer.
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "incident_note", "schema": schema},
            },
        }
        payload = self._post(body)
        return parse_completion(payload)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.post(url, json=body)
            except httpx.TimeoutException:
                if last:
                    raise BackendTimeout(
                        f"{self.base_url} did not answer within the timeout (model {self.model})"
                    ) from None
                self._wait(attempt, None)
                continue
            except httpx.TransportError as exc:
                if last:
                    raise BackendError(f"cannot reach {self.base_url}: {exc.__class__.__name__}") from None
                self._wait(attempt, None)
                continue
            if response.status_code in RETRY_STATUS:
                if last:
                    status = response.status_code
                    raise BackendOverloaded(f"{self.base_url} stayed overloaded (HTTP {status})")
                self._wait(attempt, response.headers.get("retry-after"))
                continue
            if response.status_code >= 400:
                raise BackendError(
                    f"{self.base_url} answered HTTP {response.status_code}: {response.text[:200]}"
                )
            try:
                return response.json()
            except ValueError:
                raise BackendError(f"{self.base_url} answered with something that is not JSON") from None
        raise BackendError("unreachable")  # the loop always returns or raises

    def close(self) -> None:
        self._client.close()

    @staticmethod
    def _wait(attempt: int, retry_after: str | None) -> None:
        try:
            delay = float(retry_after) if retry_after is not None else 0.5 * 2**attempt
        except ValueError:
            delay = 0.5 * 2**attempt
        time.sleep(min(max(delay, 0.0), MAX_RETRY_WAIT))


def parse_completion(payload: dict[str, Any]) -> Completion:
    """Pure: a /chat/completions response body -> Completion (data None when not the JSON asked for)."""
    usage = payload.get("usage") or {}
    choices = payload.get("choices") or [{}]
    message = choices[0].get("message") or {}
    text = message.get("content") or ""
    return Completion(
        data=_json_object(text),
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        stop_reason=choices[0].get("finish_reason"),
        text=text,
    )


def _json_object(text: str) -> dict[str, Any] | None:
    # Small local models sometimes wrap the JSON in a ```json fence despite response_format.
    stripped = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text)
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
