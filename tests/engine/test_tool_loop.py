"""The function-calling loop against the local OpenAI-compatible server over real HTTP: single and
parallel calls, invalid JSON, unknown and disabled tools, the step limit, untrusted wrapping, usage."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import pytest

from skynet.engine.events import Status, TextDelta
from skynet.engine.providers.base import Endpoint, Finish, TokenUsage
from skynet.engine.providers.openai_compat import OpenAICompatibleProvider
from skynet.engine.tools.loop import ToolLoop, ToolStepLimit
from skynet.engine.tools.registry import Tool, ToolContext, ToolRegistry, object_schema
from skynet.engine.tools.telemetry import ToolTelemetry
from skynet_dev.mock_openai import MockOpenAI, Reply


class Request:
    user_id = 7
    guild_id = 1
    channel_id = 2
    conversation = "channel:2"


@pytest.fixture
async def server():
    async with MockOpenAI(models=["gpt-test"]) as mock:
        yield mock


@pytest.fixture
async def provider(server: MockOpenAI):
    p = OpenAICompatibleProvider(Endpoint("mock", server.base_url), "sk-test", max_retries=0)
    yield p
    await p.aclose()


def make_loop(tools: List[Tool], **kwargs: Any) -> ToolLoop:
    registry = ToolRegistry()
    for tool in tools:
        registry.add(tool)
    enabled = kwargs.pop("enabled", lambda request: registry.names())
    return ToolLoop(registry.all, ToolTelemetry(), enabled=enabled, **kwargs)


async def run(loop: ToolLoop, provider, text: str = "hi") -> List[Any]:
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": text}]
    return [part async for part in loop.stream(provider, "gpt-test", messages, {}, Request())]


def echo_tool(log: List[str], name: str = "echo", delay: float = 0.0) -> Tool:
    async def handler(args: Dict[str, Any], ctx: ToolContext) -> str:
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        log.append(f"end {name}")
        return f"{name} says {args['text']} to {ctx.user_id}"

    schema = object_schema({"text": {"type": "string", "maxLength": 20}}, ["text"])
    return Tool(name, f"{name} a text", schema, handler, timeout=5)


def tool_messages(body: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "tool"]


async def test_single_call_result_goes_back_wrapped_as_untrusted(server: MockOpenAI, provider) -> None:
    log: List[str] = []
    loop = make_loop([echo_tool(log)])
    server.script(
        Reply.call("echo", {"text": "hey"}), Reply.text("It said hey.", prompt_tokens=10, completion_tokens=4)
    )
    parts = await run(loop, provider)
    assert "".join(p.text for p in parts if isinstance(p, TextDelta)) == "It said hey."
    assert [p for p in parts if isinstance(p, Status)] == [Status("🛠️ Using `echo`…")]
    assert parts[-1] == Finish("stop")
    first, second = server.chat_requests
    assert [t["function"]["name"] for t in first["tools"]] == ["echo"]
    assert "untrusted" in first["messages"][0]["content"]
    assistant = second["messages"][-2]
    assert assistant["tool_calls"][0]["function"] == {"name": "echo", "arguments": '{"text": "hey"}'}
    (result,) = tool_messages(second)
    assert result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert 'trust="untrusted"' in result["content"] and "echo says hey to 7" in result["content"]
    # Both steps' tokens are accounted: the first step's usage is estimated by the mock too.
    usage = [p for p in parts if isinstance(p, TokenUsage)]  # cumulative after each step
    assert len(usage) == 2 and usage[1].prompt_tokens == usage[0].prompt_tokens + 10
    assert usage[1].completion_tokens == usage[0].completion_tokens + 4
    assert loop.telemetry.stats("echo").successes == 1


async def test_parallel_calls_run_concurrently(server: MockOpenAI, provider) -> None:
    log: List[str] = []
    loop = make_loop([echo_tool(log, "slow_a", 0.3), echo_tool(log, "slow_b", 0.3)])
    server.script(Reply.call("slow_a", {"text": "a"}, ("slow_b", {"text": "b"})), Reply.text("both done"))
    await run(loop, provider)
    # Both started before either ended: they overlapped.
    assert log[:2] == ["start slow_a", "start slow_b"] and sorted(log[2:]) == ["end slow_a", "end slow_b"]
    results = tool_messages(server.chat_requests[1])
    assert [r["tool_call_id"] for r in results] == ["call_0_slow_a", "call_1_slow_b"]


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ('{"text": "unterminated', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"text": 5}, "must be of type string"),
        ({"text": "x" * 50}, "at most 20 characters"),
        ({}, "missing the required field `text`"),
        ({"text": "a", "extra": 1}, "unknown field `extra`"),
    ],
)
async def test_bad_arguments_become_error_results(server: MockOpenAI, provider, arguments, expected) -> None:
    log: List[str] = []
    loop = make_loop([echo_tool(log)])
    server.script(Reply.call("echo", arguments), Reply.text("sorry"))
    parts = await run(loop, provider)
    assert log == []  # the handler never ran
    (result,) = tool_messages(server.chat_requests[1])
    assert "ERROR (bad_arguments)" in result["content"] and expected in result["content"]
    assert parts[-1] == Finish("stop")


async def test_unknown_and_disabled_tools(server: MockOpenAI, provider) -> None:
    log: List[str] = []
    tools = [echo_tool(log), echo_tool(log, "off")]
    loop = make_loop(tools, enabled=lambda request: ["echo"])
    server.script(Reply.call("nope", {"text": "a"}, ("off", {"text": "b"})), Reply.text("ok"))
    await run(loop, provider)
    assert [t["function"]["name"] for t in server.chat_requests[0]["tools"]] == ["echo"]
    unknown, disabled = tool_messages(server.chat_requests[1])
    assert "no tool named `nope`" in unknown["content"]
    assert "`off` is disabled here" in disabled["content"]
    assert log == []


async def test_gate_refusal_is_checked_when_the_tool_runs(server: MockOpenAI, provider) -> None:
    log: List[str] = []
    asked: List[str] = []

    async def gate(name: str, request: Any):
        asked.append(name)
        return "Members of this role can't search."

    loop = make_loop([echo_tool(log)], gate=gate)
    server.script(Reply.call("echo", {"text": "a"}), Reply.text("ok"))
    await run(loop, provider)
    assert asked == ["echo"] and log == []
    assert "can't search" in tool_messages(server.chat_requests[1])[0]["content"]


async def test_endless_tool_calls_stop_at_the_step_limit(server: MockOpenAI, provider) -> None:
    log: List[str] = []
    loop = make_loop([echo_tool(log)], max_steps=lambda: 3)
    server.default_reply = Reply.call("echo", {"text": "again"})
    with pytest.raises(ToolStepLimit, match="after 3 rounds"):
        await run(loop, provider)
    assert len(server.chat_requests) == 4  # 3 rounds with tools + 1 that must answer
    assert "tools" not in server.chat_requests[-1]
    assert log.count("start echo") == 3


async def test_timeouts_crashes_and_oversized_results(server: MockOpenAI, provider) -> None:
    async def slow(args, ctx):
        await asyncio.sleep(10)

    async def crash(args, ctx):
        raise RuntimeError("boom sk-secretsecretsecret")

    async def huge(args, ctx):
        return "word " * 20000

    tools = [
        Tool("slow", "slow", object_schema({}), slow, timeout=0.2),
        Tool("crash", "crash", object_schema({}), crash),
        Tool("huge", "huge", object_schema({}), huge),
    ]
    loop = make_loop(tools, result_tokens=100)
    server.script(Reply.call("slow", {}, ("crash", {}), ("huge", {})), Reply.text("done"))
    await run(loop, provider)
    slow_r, crash_r, huge_r = (m["content"] for m in tool_messages(server.chat_requests[1]))
    assert "took longer than 0.2 s" in slow_r
    assert "failed unexpectedly" in crash_r and "secret" not in crash_r
    assert "truncated" in huge_r and len(huge_r) < 1000
    stats = loop.telemetry.all()
    assert stats["slow"].failures["timeout"] == 1 and stats["crash"].failures["crashed"] == 1


async def test_cooldown_throttles_requests_not_the_calls_of_one_answer(server: MockOpenAI, provider) -> None:
    log: List[str] = []
    tool = echo_tool(log)
    cooled = Tool(tool.name, tool.description, tool.parameters, tool.handler, cooldown=60)
    loop = make_loop([cooled])
    server.script(
        Reply.call("echo", {"text": "a"}, ("echo", {"text": "b"})),
        Reply.call("echo", {"text": "c"}),
        Reply.text("ok"),
    )
    await run(loop, provider)
    assert log.count("start echo") == 3  # parallel and later calls of the same answer all ran
    server.script(Reply.call("echo", {"text": "d"}), Reply.text("ok"))
    await run(loop, provider)  # the same user's next question, within the cooldown
    (refused,) = tool_messages(server.chat_requests[-1])
    assert "cooling down" in refused["content"] and log.count("start echo") == 3


async def test_no_tools_enabled_means_a_plain_request(server: MockOpenAI, provider) -> None:
    loop = make_loop([echo_tool([])], enabled=lambda request: [])
    server.script(Reply.text("plain"))
    await run(loop, provider)
    assert "tools" not in server.chat_requests[0]
    assert json.dumps(server.chat_requests[0]["messages"]).count("untrusted") == 0


async def test_a_model_without_function_calling_answers_without_tools(server: MockOpenAI, provider) -> None:
    loop = make_loop([echo_tool([])])
    server.script(
        Reply.error(400, message="registry.ollama.ai/library/gemma does not support tools"),
        Reply.text("plain"),
    )
    parts = await run(loop, provider)
    assert "".join(p.text for p in parts if isinstance(p, TextDelta)) == "plain"
    assert "tools" in server.chat_requests[0] and "tools" not in server.chat_requests[1]
    server.script(Reply.text("again"))
    await run(loop, provider)  # remembered: not offered to that model again
    assert "tools" not in server.chat_requests[2]
