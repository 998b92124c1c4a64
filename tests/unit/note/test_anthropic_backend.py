"""The Anthropic path through the real `anthropic` SDK over a scripted HTTP transport.

The Messages API responses replayed here are scripted by hand in the API's documented
shapes (see tests/unit/note/scripted.py); they were not captured from the live API.
"""

import json
from zoneinfo import ZoneInfo

import anthropic
import httpx2
import pytest

from app.config import Config, LLMConfig
from app.note import write_note
from app.note.anthropic_backend import AnthropicBackend
from app.note.draft import TOOL_NAME, tool_schema
from app.note.prompt import build_prompt
from app.note.writer import make_backend
from tests.unit.note.fixtures import NOW, SECRET, broker_down, good_answer, hallucinating_answer
from tests.unit.note.scripted import OVERLOADED, Script, tool_use_message

KEY = "sk-ant-api03-test-key-for-scripted-transport"
UTC_TZ = ZoneInfo("UTC")


def run(steps, max_retries=2, timeout=30.0, **llm):
    script = Script(steps)
    client = anthropic.Anthropic(
        api_key=KEY,
        max_retries=max_retries,
        timeout=timeout,
        http_client=httpx2.Client(transport=httpx2.MockTransport(script)),
    )
    llm.setdefault("model", "claude-sonnet-4-6")
    backend = AnthropicBackend(api_key=KEY, model=llm["model"], client=client)
    config = Config(llm=LLMConfig(backend="anthropic", anthropic_api_key=KEY, **llm))
    note = write_note(broker_down(), mode="llm", config=config, now=NOW, tz=UTC_TZ, backend=backend)
    return note, script


def test_request_carries_model_prompts_schema_and_fenced_evidence():
    note, script = run([(200, tool_use_message(good_answer()))], max_tokens=1500)
    assert len(script.requests) == 1
    request = script.requests[0]
    assert request.url.path == "/v1/messages"
    # SDK 2.x sends the key as a bearer token (older SDKs used x-api-key).
    assert KEY in (
        request.headers.get("x-api-key"),
        request.headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert request.headers["anthropic-version"]
    body = json.loads(request.content)
    expected = build_prompt(broker_down(), max_tokens=20000, schema_chars=len(json.dumps(tool_schema())))
    assert body["model"] == "claude-sonnet-4-6"
    assert body["max_tokens"] == 1500
    assert body["system"] == expected.system
    assert body["messages"] == [{"role": "user", "content": expected.user}]
    assert body["tools"][0]["name"] == TOOL_NAME
    assert body["tools"][0]["input_schema"] == tool_schema()
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    user = body["messages"][0]["content"]
    assert "````untrusted-data\n" in user
    assert SECRET not in json.dumps(body)


def test_good_answer_becomes_the_note_with_tokens_and_cost():
    note, _ = run([(200, tool_use_message(good_answer(), input_tokens=2345, output_tokens=412))])
    assert note.kind == "llm" and note.fallback is None
    assert (note.usage.input_tokens, note.usage.output_tokens, note.usage.calls) == (2345, 412, 1)
    assert note.usage.cost_usd == pytest.approx((2345 * 3 + 412 * 15) / 1e6)
    md = note.markdown
    assert md.startswith("# Broker 2 down, 12 partitions under-replicated\n")
    assert "| 2026-11-01 12:07:31 UTC | Brokers 1 and 3 could not reach broker 2 and shrank the ISR" in md
    assert "1. **Broker 2 process down** (high): The scrape target went to 0" in md
    assert (
        "_Drafted by claude-sonnet-4-6 from the evidence above (2,345 input + 412 output tokens in 1 call, "
        "about $0.0132)"
    ) in md
    assert KEY not in md and SECRET not in md
    assert note.accounting() == (
        "note: llm via anthropic claude-sonnet-4-6: 2,345 input + 412 output tokens in 1 call, about $0.0132"
    )


def test_overload_is_retried_by_the_sdk_then_succeeds():
    note, script = run([(529, OVERLOADED), (200, tool_use_message(good_answer()))])
    assert note.kind == "llm"
    assert len(script.requests) == 2
    assert [r.headers["x-stainless-retry-count"] for r in script.requests] == ["0", "1"]
    assert note.usage.calls == 1  # one logical call; the SDK retried the transport


def test_persistent_overload_falls_back_to_the_template_saying_so():
    note, script = run([(529, OVERLOADED)] * 3, max_retries=2)
    assert len(script.requests) == 3
    assert note.kind == "template"
    assert (
        note.fallback
        == "The LLM call failed: Anthropic API is overloaded or rate limited (HTTP 529) after retries."
    )
    assert "> **Note:** The LLM call failed: Anthropic API is overloaded" in note.markdown
    assert "This is the deterministic note." in note.markdown


def test_timeout_falls_back_to_the_template():
    def slow(request):
        raise httpx2.ReadTimeout("scripted: no answer", request=request)

    note, script = run([slow], max_retries=0, timeout=0.5)
    assert len(script.requests) == 1
    assert note.kind == "template"
    assert "did not answer within the timeout" in note.fallback


def test_hallucinating_answer_is_rejected_retried_once_then_template():
    note, script = run([(200, tool_use_message(hallucinating_answer()))] * 2)
    assert len(script.requests) == 2
    retry = json.loads(script.requests[1].content)["messages"][0]["content"]
    assert "Your previous answer was rejected by the fact checker for these reasons:" in retry
    assert "- E9 is not an evidence id; the known ids are E1, E2, E3, E4, E5" in retry
    assert note.kind == "template"
    assert note.fallback == (
        "The LLM draft (claude-sonnet-4-6) was rejected twice by the fact checker: it cited unknown evidence "
        "id E9 and wrote 2 numbers that appear in no evidence."
    )
    assert "340" not in note.markdown  # the invented figure is never shown, not even quoted
    assert (
        "The LLM attempts used 4,690 input + 824 output tokens in 2 calls, about $0.0264._" in note.markdown
    )
    assert (note.usage.input_tokens, note.usage.calls) == (2 * 2345, 2)
    assert "note: template via anthropic claude-sonnet-4-6: 4,690 input + 824 output tokens in 2 calls" in (
        note.accounting()
    )


def test_rejected_then_corrected_answer_is_used():
    note, script = run(
        [(200, tool_use_message(hallucinating_answer())), (200, tool_use_message(good_answer()))]
    )
    assert note.kind == "llm"
    assert note.usage.calls == 2
    assert "E9" not in note.markdown


@pytest.mark.parametrize(
    "bad",
    [
        tool_use_message(None, text="Here is the note: broker 2 died."),  # no tool call
        tool_use_message({"title": "x", "impact": {"text": "y", "evidence": []}}),  # schema violation
        tool_use_message(good_answer(), stop_reason="max_tokens"),  # cut off
    ],
    ids=["no-tool-call", "schema-violation", "cut-off"],
)
def test_malformed_answers_are_rejected(bad):
    note, script = run([(200, bad), (200, bad)])
    assert len(script.requests) == 2
    assert note.kind == "template"
    assert "rejected twice by the fact checker" in note.fallback


def test_budget_refuses_before_any_request():
    note, script = run([], budget_usd=0.001)
    assert script.requests == []
    assert note.kind == "template"
    assert "over the budget of $0.0010 per note (LENS_LLM_BUDGET_USD)" in note.fallback


def test_budget_stops_the_retry_when_a_second_call_would_exceed_it():
    # One call's worst case fits, two do not: the rejected draft is not retried.
    first = build_prompt(broker_down()).estimated_tokens(len(json.dumps(tool_schema())))
    one_call = (first * 3 + 2000 * 15) / 1e6
    answer = tool_use_message(hallucinating_answer(), input_tokens=9000)
    note, script = run([(200, answer)], budget_usd=one_call * 1.5)
    assert len(script.requests) == 1
    assert "another call could cost up to" in note.fallback


def test_unknown_model_price_refuses_instead_of_guessing():
    note, script = run([], model="claude-unpriced-model")
    assert script.requests == []
    assert "set LENS_LLM_PRICE_INPUT and LENS_LLM_PRICE_OUTPUT" in note.fallback


def test_auth_and_unknown_model_errors_are_explained():
    note, _ = run(
        [(401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})]
    )
    assert "rejected the key (HTTP 401); check ANTHROPIC_API_KEY" in note.fallback
    assert KEY not in note.fallback and KEY not in note.markdown
    note, _ = run([(404, {"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}})])
    assert "check LENS_LLM_MODEL" in note.fallback


def test_make_backend_uses_the_configured_model_timeout_and_retries():
    llm = LLMConfig(
        backend="anthropic", model="claude-haiku-4-5", timeout=12.5, max_retries=4, anthropic_api_key=KEY
    )
    backend = make_backend(llm)
    assert isinstance(backend, AnthropicBackend)
    assert backend.model == "claude-haiku-4-5"
    assert backend._client.timeout == 12.5
    assert backend._client.max_retries == 4
    assert make_backend(LLMConfig()) is None


def test_budget_trims_evidence_before_refusing():
    schema_chars = len(json.dumps(tool_schema()))
    full = build_prompt(broker_down()).estimated_tokens(schema_chars)
    # Enough money for the worst-case output and all but the last-ranked evidence row.
    budget = ((full - 100) * 3 + 2000 * 15) / 1e6
    answer = good_answer()
    for item in [answer["impact"], *answer["timeline"], *answer["causes"], *answer["next_steps"]]:
        item["evidence"] = ["E1"]
    answer["impact"]["text"] = "Broker 2 stopped."
    answer["timeline"] = [{"text": "Broker 2 stopped answering scrapes.", "evidence": ["E1"]}]
    answer["causes"] = answer["causes"][:1]
    note, script = run([(200, tool_use_message(answer, input_tokens=900))], budget_usd=budget)
    assert note.kind == "llm", note.fallback
    sent = json.loads(script.requests[0].content)["messages"][0]["content"]
    assert "lower-ranked evidence items were left out to stay within the token budget." in sent
    assert '"id": "E1"' in sent


def test_timeline_is_put_in_time_order():
    answer = good_answer()
    answer["timeline"].reverse()
    note, _ = run([(200, tool_use_message(answer))])
    rows = [line for line in note.markdown.splitlines() if line.startswith("| 2026-")]
    assert rows == sorted(rows)
    assert rows[0].startswith("| 2026-11-01 12:07:30 UTC | Broker 2 stopped answering scrapes.")
