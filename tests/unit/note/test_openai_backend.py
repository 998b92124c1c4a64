"""The OpenAI-compatible backend against a real HTTP server on loopback.

The server is started by the test and answers /v1/chat/completions from a script of
responses shaped like Ollama's / vLLM's / llama.cpp's (hand-written, not captured).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from app.config import Config, load_config
from app.note import write_note
from app.note.draft import tool_schema
from app.note.openai_backend import OpenAICompatBackend, parse_completion
from app.note.writer import make_backend
from tests.unit.note.fixtures import NOW, SECRET, broker_down, good_answer, hallucinating_answer


def chat(answer, prompt_tokens=1800, completion_tokens=350, finish="stop", raw=None):
    content = raw if raw is not None else json.dumps(answer)
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "model": "qwen3:8b",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class Server:
    """A real HTTP server replaying scripted steps: (status, body, headers, delay_seconds)."""

    def __init__(self):
        self.steps: list[tuple[int, object, dict, float]] = []
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                owner.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                status, body, headers, delay = (
                    owner.steps.pop(0) if owner.steps else (500, {"error": "no step"}, {}, 0)
                )
                time.sleep(delay)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for key, value in {"content-type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


def config_for(server, **env):
    base = {"LENS_LLM_BASE_URL": server.url, "LENS_LLM_MODEL": "qwen3:8b", "LENS_LLM_MAX_RETRIES": "2"}
    return load_config(env={**base, **env}, path=None)


def note_from(server, **env):
    return write_note(
        broker_down(), mode="llm", config=config_for(server, **env), now=NOW, tz=ZoneInfo("UTC")
    )


def test_good_answer_over_http(server):
    server.steps = [(200, chat(good_answer()), {}, 0)]
    note = note_from(server)
    assert note.kind == "llm" and note.backend == "openai" and note.model == "qwen3:8b"
    assert (note.usage.input_tokens, note.usage.output_tokens, note.usage.cost_usd) == (1800, 350, 0.0)
    assert note.markdown.startswith("# Broker 2 down, 12 partitions under-replicated\n")
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert body["model"] == "qwen3:8b"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["response_format"]["json_schema"]["schema"] == tool_schema()
    assert "````untrusted-data" in body["messages"][1]["content"]
    assert (
        "7. Answer only with one JSON object that matches the schema you were given, with no text around it."
    ) in body["messages"][0]["content"]
    assert SECRET not in json.dumps(body)
    assert "authorization" not in {k.lower() for k in request["headers"]}


def test_bearer_key_is_sent_when_configured_and_never_shown(server):
    server.steps = [(200, chat(good_answer()), {}, 0)]
    note = note_from(server, LENS_LLM_API_KEY="local-server-key")
    headers = {k.lower(): v for k, v in server.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer local-server-key"
    assert "local-server-key" not in note.markdown


def test_busy_server_is_retried_with_retry_after(server):
    server.steps = [
        (503, {"error": "loading model"}, {"retry-after": "0"}, 0),
        (200, chat(good_answer()), {}, 0),
    ]
    note = note_from(server)
    assert note.kind == "llm"
    assert len(server.requests) == 2


def test_server_that_stays_busy_gives_the_template(server):
    server.steps = [(429, {"error": "busy"}, {"retry-after": "0"}, 0)] * 3
    note = note_from(server)
    assert len(server.requests) == 3
    assert note.kind == "template"
    assert note.fallback == f"The LLM call failed: {server.url} stayed overloaded (HTTP 429)."


def test_timeout_gives_the_template(server):
    server.steps = [(200, chat(good_answer()), {}, 1.5)]
    note = note_from(server, LENS_LLM_TIMEOUT="0.3", LENS_LLM_MAX_RETRIES="0")
    assert note.kind == "template"
    assert "did not answer within the timeout" in note.fallback


def test_hallucination_then_correction(server):
    server.steps = [(200, chat(hallucinating_answer()), {}, 0), (200, chat(good_answer()), {}, 0)]
    note = note_from(server)
    assert note.kind == "llm" and note.usage.calls == 2
    retry = server.requests[1]["body"]["messages"][1]["content"]
    assert "- E9 is not an evidence id; the known ids are E1, E2, E3, E4, E5" in retry


def test_answers_that_are_not_the_json_asked_for_are_rejected_twice(server):
    server.steps = [(200, chat(None, raw="Sure! Broker 2 is down."), {}, 0)] * 2
    note = note_from(server)
    assert note.kind == "template"
    assert "did not contain the note as structured data" in note.fallback


def test_http_error_is_reported_without_retry(server):
    server.steps = [(400, {"error": {"message": "model 'qwen3:8b' not found"}}, {}, 0)]
    note = note_from(server)
    assert len(server.requests) == 1
    assert "answered HTTP 400" in note.fallback and "not found" in note.fallback


def test_parse_completion_accepts_fenced_json():
    fenced = "```json\n" + json.dumps(good_answer()) + "\n```"
    completion = parse_completion(chat(None, raw=fenced))
    assert completion.data == good_answer()
    assert parse_completion({"choices": []}).data is None


def test_make_backend_for_a_local_server():
    config = load_config(env={"LENS_LLM_BASE_URL": "http://127.0.0.1:11434/v1/", "LENS_LLM_MODEL": "llama3"})
    backend = make_backend(config.llm)
    assert isinstance(backend, OpenAICompatBackend)
    assert backend.base_url == "http://127.0.0.1:11434/v1"
    assert isinstance(Config(), Config)
