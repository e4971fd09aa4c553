"""The engine end to end, without Discord: real openai SDK against the local mock server."""

from __future__ import annotations

import pytest

from skynet.engine.chat import ChatEngine, ChatLimits, ChatRequest
from skynet.engine.errors import Redactor
from skynet.engine.events import Done, Failed, TextDelta, Usage
from skynet.engine.memory import ConversationMemory
from skynet.engine.providers.base import Endpoint
from skynet.engine.providers.registry import ProviderRegistry
from skynet.engine.settings import Layer, ModelRef, resolve
from skynet.engine.usage.accounting import UsageLedger
from skynet.engine.usage.pricing import Price, PriceBook
from skynet.engine.usage.tokens import TokenCounter
from skynet_dev.mock_openai import MockOpenAI, Reply

KEY = "sk-test-abcdefghijklmnop"


@pytest.fixture
async def server():
    async with MockOpenAI(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def keys():
    return {"mock": KEY}


@pytest.fixture
async def engine(server, keys):
    async def lookup(service):
        return keys.get(service)

    registry = ProviderRegistry(lookup, Redactor())
    registry.set_endpoints({"mock": Endpoint("mock", server.base_url, "mock", timeout=2.0)})
    counter = TokenCounter()
    counter.load()
    eng = ChatEngine(
        registry,
        ConversationMemory(counter.count),
        UsageLedger(),
        counter,
        PriceBook({"gpt-test": Price(1.0, 2.0)}),
        registry._redactor,
        ChatLimits(max_input_tokens=50),
    )
    yield eng
    await registry.aclose()


def request(text, *, model="gpt-test", params=None, user=1, conversation="channel:1"):
    settings = resolve([Layer("guild", ModelRef("mock", model), params or {})], ModelRef("mock", "x"))
    return ChatRequest(text, user, f"user{user}", conversation, settings, (("global",), ("user", user)))


async def collect(engine, req):
    return [event async for event in engine.run(req)]


async def test_streams_deltas_then_usage_then_done(engine, server):
    server.script(Reply.text("Hello there, friend.", chunk_size=4, prompt_tokens=11, completion_tokens=5))
    events = await collect(engine, request("hi"))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == "Hello there, friend."
    usage = next(e for e in events if isinstance(e, Usage))
    assert events.index(usage) > [isinstance(e, TextDelta) for e in events].index(True)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (11, 5, False)
    assert usage.cost_usd == pytest.approx((11 * 1.0 + 5 * 2.0) / 1e6)
    assert isinstance(events[-1], Done) and events[-1].text == "Hello there, friend."
    assert engine.ledger.pending(("user", 1)).requests == 1


async def test_sends_system_prompt_params_and_asks_for_usage(engine, server):
    await collect(
        engine, request("hi", params={"temperature": 0.3, "max_tokens": 7, "system_prompt": "Be brief."})
    )
    body = server.chat_requests[-1]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][-1] == {"role": "user", "content": "user1: hi"}
    assert body["temperature"] == 0.3 and body["max_tokens"] == 7 and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "system_prompt" not in body


async def test_usage_is_estimated_when_the_provider_sends_none(engine, server):
    server.script(Reply.text("four score and seven", usage=False))
    usage = next(e for e in await collect(engine, request("hello")) if isinstance(e, Usage))
    assert usage.estimated and usage.completion_tokens == engine.counter.count("four score and seven")
    assert usage.prompt_tokens > engine.counter.count("user1: hello")


async def test_follow_ups_see_the_conversation_but_other_channels_do_not(engine, server):
    await collect(engine, request("my name is Ada"))
    await collect(engine, request("what is my name?"))
    contents = [m["content"] for m in server.chat_requests[-1]["messages"]]
    assert contents[1:] == ["user1: my name is Ada", "echo: user1: my name is Ada", "user1: what is my name?"]
    await collect(engine, request("hello", conversation="channel:2"))
    assert len(server.chat_requests[-1]["messages"]) == 2


@pytest.mark.parametrize(
    "reply,kind,words",
    [
        (Reply.error(401, code="invalid_api_key"), "bad_key", "rejected the API key"),
        (Reply.error(404, code="model_not_found"), "unknown_model", "isn't available"),
        (Reply.error(429, code="rate_limit_exceeded", retry_after=0), "rate_limited", "rate-limiting"),
        (Reply.error(429, code="insufficient_quota"), "quota", "out of credit"),
        (Reply.error(500), "provider_down", "having problems"),
        (Reply.error(400, code="context_length_exceeded"), "context_too_long", "too long"),
        (Reply.text("partial answer here", cut_after=2), "stream_cut", "broke off"),
        (Reply.text("partial answer here", end_early_after=2), "stream_cut", "broke off"),
        (Reply.text("partial answer here", malformed_after=2), "stream_cut", "broke off"),
        (Reply.text("partial answer here", stall_after=1), "timeout", "took too long"),
    ],
)
async def test_failures_become_one_friendly_failed_event(engine, server, reply, kind, words):
    # Retries are the SDK's (it honours Retry-After); script the same error for each attempt.
    server.script(*[reply] * 3)
    events = await collect(engine, request("hi"))
    failed = [e for e in events if isinstance(e, Failed)]
    assert len(failed) == 1 and events[-1] is failed[0] and not any(isinstance(e, Done) for e in events)
    assert failed[0].kind == kind and words in failed[0].message
    assert KEY not in failed[0].message


async def test_missing_key_and_unknown_endpoint(engine, keys):
    keys.clear()
    (failed,) = await collect(engine, request("hi"))
    assert failed.kind == "missing_key" and "[p]set api mock api_key," in failed.message
    req = request("hi")
    bad = ChatRequest(req.text, 1, "u", "c", resolve([], ModelRef("nowhere", "m")))
    (failed,) = await collect(engine, bad)
    assert failed.kind == "unknown_endpoint" and "`mock`" in failed.message


async def test_over_long_input_is_refused_before_any_request(engine, server):
    (failed,) = await collect(engine, request("word " * 200))
    assert failed.kind == "input_too_long" and "limit is 50" in failed.message
    assert server.chat_requests == []


async def test_a_failed_turn_is_not_remembered(engine, server):
    server.script(Reply.error(500), Reply.error(500), Reply.error(500))
    await collect(engine, request("lost question"))
    await collect(engine, request("next"))
    assert [m["content"] for m in server.chat_requests[-1]["messages"][1:]] == ["user1: next"]
