"""One HTTP session per server with a default timeout, bounded retries and errors that say what failed.

Retries (with exponential backoff, honouring Retry-After) are urllib3's, for connection errors,
429 and 5xx on idempotent GETs. What comes back is checked here once, so every client raises
the same `SourceUnavailable` / `QueryRejected` with the server, the query and the server's own
message.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from app.sources.base import QueryRejected, SourceUnavailable

DEFAULT_TIMEOUT = 15.0
RETRY_STATUSES = (429, 500, 502, 503, 504)


class MalformedAnswer(SourceUnavailable):
    """The server answered, but not with the JSON its API documents."""


class RateLimited(SourceUnavailable):
    """The server kept answering 429 after the retries."""


class BoundedRetry(Retry):
    """urllib3's Retry, but a server's Retry-After never makes us sleep longer than MAX_RETRY_AFTER_S.

    (Stock urllib3 sleeps whatever the server says: "Retry-After: 3600" would hang a diagnosis.)
    """

    MAX_RETRY_AFTER_S = 5.0

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.MAX_RETRY_AFTER_S)


def make_session(
    retries: int = 2, backoff: float = 0.5, headers: dict[str, str] | None = None
) -> requests.Session:
    session = requests.Session()
    retry = BoundedRetry(
        total=retries,
        connect=retries,
        read=0,  # a query that timed out once would time out again: do not multiply the wait
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),  # our POSTs are queries: safe to repeat
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last answer back so its message can be shown
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if headers:
        session.headers.update(headers)
    return session


def get_json(
    session: requests.Session,
    source: str,
    url: str,
    params: dict[str, Any] | list[tuple[str, Any]] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    query: str | None = None,
    method: str = "GET",
) -> Any:
    """GET (or form-POST) `url` and return its JSON, or raise an error naming server and query."""
    try:
        if method == "POST":
            response = session.post(url, data=params, timeout=timeout)
        else:
            response = session.get(url, params=params, timeout=timeout)
    except requests.Timeout:
        raise SourceUnavailable(source, _timed_out(url, timeout), query) from None
    except requests.exceptions.RetryError as exc:
        raise SourceUnavailable(source, f"{url} kept failing after retries ({_reason(exc)})", query) from None
    except requests.ConnectionError as exc:
        if "timed out" in str(exc) or "Timeout" in str(exc):
            raise SourceUnavailable(source, _timed_out(url, timeout), query) from None
        raise SourceUnavailable(
            source,
            f"cannot connect to {url} ({_reason(exc)}); is the server running and the URL right?",
            query,
        ) from None
    except requests.RequestException as exc:
        raise SourceUnavailable(source, f"request to {url} failed ({_reason(exc)})", query) from None
    status = response.status_code
    message = _server_message(response)
    if status == 429:
        raise RateLimited(source, f"{url} is rate limiting us (HTTP 429) after retries: {message}", query)
    if status in (401, 403):
        raise SourceUnavailable(
            source,
            f"{url} refused our credentials (HTTP {status}): {message}; "
            "check the token/user in the environment",
            query,
        )
    if status >= 500:
        raise SourceUnavailable(source, f"{url} failed with HTTP {status}: {message}", query)
    if status >= 400:
        raise QueryRejected(source, f"{url} rejected the query (HTTP {status}): {message}", query)
    try:
        return response.json()
    except ValueError:
        snippet = response.text[:200].replace("\n", " ")
        raise MalformedAnswer(
            source, f"{url} answered HTTP {status} with something that is not JSON: {snippet!r}", query
        ) from None


def _server_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason or ""
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or json.dumps(data)[:300])
    return json.dumps(data)[:300]


def _reason(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection reset" in text:
        return "the server closed the connection without answering"
    # urllib3 wraps the root cause several times; its last part is the useful one.
    return text.split("Caused by ")[-1].strip("()'\" ")[:200]


def _timed_out(url: str, timeout: float) -> str:
    return (
        f"no answer from {url} within {timeout:g} s (timed out); "
        "a longer --timeout or a shorter window may help"
    )
