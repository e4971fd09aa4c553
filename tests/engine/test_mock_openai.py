"""Tests for skynet_dev.mock_openai, driven through the real ``openai`` SDK over HTTP."""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from skynet.engine.memory.embeddings import DEFAULT_EMBEDDING_MODEL
from skynet_dev.mock_openai import MockOpenAI, Reply

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}]


@pytest.fixture
async def server() -> AsyncIterator[MockOpenAI]:
    async with MockOpenAI() as mock:
        yield mock


@pytest.fixture
async def client(server: MockOpenAI) -> AsyncIterator[AsyncOpenAI]:
    sdk = AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    yield sdk
    await sdk.close()


async def stream_chat(client: AsyncOpenAI, chunks: list[Any], **kwargs: Any) -> None:
    """Stream a chat completion, appending every chunk to ``chunks`` (kept on error)."""
    stream = await client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True, **kwargs)
    async for chunk in stream:
        chunks.append(chunk)


def contents(chunks: list[Any]) -> list[str]:
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    return [d.content for d in deltas if d.content is not None]


def finish_reasons(chunks: list[Any]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


async def test_stream_text_arrives_in_scripted_deltas(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hello world", chunk_size=5))
    chunks: list[Any] = []
    await stream_chat(client, chunks)
    assert contents(chunks) == ["hello", " worl", "d"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert finish_reasons(chunks) == ["stop"]
    assert {(c.id, c.object, c.model) for c in chunks} == {
        ("chatcmpl-mock1", "chat.completion.chunk", "gpt-test")
    }


async def test_usage_chunk_only_with_include_usage(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("one two three"), Reply.text("x", prompt_tokens=7, completion_tokens=3))
    server.script(Reply.text("x"))
    estimated: list[Any] = []
    await stream_chat(client, estimated, stream_options={"include_usage": True})
    assert estimated[-1].choices == []
    assert (estimated[-1].usage.prompt_tokens, estimated[-1].usage.completion_tokens) == (4, 3)
    scripted: list[Any] = []
    await stream_chat(client, scripted, stream_options={"include_usage": True})
    assert scripted[-1].usage.total_tokens == 10
    plain: list[Any] = []
    await stream_chat(client, plain)
    assert all(c.usage is None and c.choices for c in plain)


async def test_usage_false_omits_usage_even_if_requested(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hi", usage=False))
    chunks: list[Any] = []
    await stream_chat(client, chunks, stream_options={"include_usage": True})
    assert all(c.usage is None and c.choices for c in chunks)
    assert finish_reasons(chunks) == ["stop"]


async def test_delays_are_applied(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("abc", chunk_size=1, first_delay=0.2, delay=0.05))
    start = time.monotonic()
    chunks: list[Any] = []
    await stream_chat(client, chunks)
    assert contents(chunks) == ["a", "b", "c"]
    assert 0.28 <= time.monotonic() - start < 1.5


async def test_non_stream_request(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hello world", chunk_size=3))
    completion = await client.chat.completions.create(model="gpt-other", messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-other"
    assert completion.choices[0].message.content == "hello world"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens == 4 + 2


async def test_models_list(server: MockOpenAI, client: AsyncOpenAI) -> None:
    assert [m.id async for m in client.models.list()] == ["gpt-test", "gpt-other"]
    server.models.append("gpt-new")
    models = [m async for m in client.models.list()]
    assert [m.id for m in models] == ["gpt-test", "gpt-other", "gpt-new"]
    assert {(m.object, m.owned_by) for m in models} == {("model", "mock")}


async def test_embeddings_are_deterministic_unit_vectors(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.models.append("embed-test")
    first = await client.embeddings.create(model="embed-test", input=["alpha", "beta"])
    again = await client.embeddings.create(model="embed-test", input="alpha", encoding_format="float")
    alpha, beta = (d.embedding for d in first.data)
    assert len(alpha) == 16 and math.isclose(math.fsum(x * x for x in alpha), 1.0, rel_tol=1e-5)
    assert again.data[0].embedding == pytest.approx(alpha, abs=1e-6)
    assert alpha != beta
    assert [d.index for d in first.data] == [0, 1]
    assert first.usage.prompt_tokens == 2


async def test_bad_api_key_is_401_and_does_not_consume_reply() -> None:
    async with MockOpenAI(api_key="sk-right") as server:
        server.script(Reply.text("scripted"))
        wrong = AsyncOpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
        right = AsyncOpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as excinfo:
            await wrong.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert excinfo.value.status_code == 401 and excinfo.value.code == "invalid_api_key"
        completion = await right.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert completion.choices[0].message.content == "scripted"
        await wrong.close()
        await right.close()


async def test_unknown_model_is_404(server: MockOpenAI, client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as excinfo:
        await client.chat.completions.create(model="gpt-nope", messages=MESSAGES, stream=True)
    assert excinfo.value.code == "model_not_found"
    assert "The model `gpt-nope` does not exist or you do not have access to it." in str(excinfo.value)


async def test_scripted_error_beats_model_check(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.error(400, code="context_length_exceeded", message="too long"))
    with pytest.raises(openai.BadRequestError) as excinfo:
        await client.chat.completions.create(model="gpt-nope", messages=MESSAGES)
    assert excinfo.value.code == "context_length_exceeded"
    error = {
        "message": "too long",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }
    assert excinfo.value.body == error


async def test_rate_limit_429_with_retry_after(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.error(429, code="rate_limit_exceeded", retry_after=3))
    with pytest.raises(openai.RateLimitError) as excinfo:
        await client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    assert excinfo.value.status_code == 429 and excinfo.value.code == "rate_limit_exceeded"
    assert excinfo.value.response.headers["retry-after"] == "3"


async def test_server_error_500(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.error(500))
    with pytest.raises(openai.InternalServerError) as excinfo:
        await client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    assert excinfo.value.status_code == 500
    assert len(server.chat_requests) == 1  # max_retries=0: no retry


async def test_stall_raises_read_timeout(server: MockOpenAI) -> None:
    server.script(Reply.text("hello world", stall_after=1))
    sdk = AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=httpx.Timeout(0.5))
    chunks: list[Any] = []
    start = time.monotonic()
    # The SDK only wraps errors while sending; mid-stream the raw httpx error propagates.
    with pytest.raises(httpx.ReadTimeout):
        await stream_chat(sdk, chunks)
    assert 0.4 < time.monotonic() - start < 1.5
    assert contents(chunks) == ["hello"]
    await sdk.close()


async def test_close_returns_promptly_while_a_response_is_stalled() -> None:
    server = MockOpenAI()
    await server.start()
    sdk = AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    server.script(Reply.text("hello world", stall_after=1))
    chunks: list[Any] = []
    reader = asyncio.create_task(stream_chat(sdk, chunks))
    while not chunks:
        await asyncio.sleep(0.01)
    start = time.monotonic()
    await server.close()
    assert time.monotonic() - start < 0.5
    with pytest.raises(httpx.RemoteProtocolError):
        await asyncio.wait_for(reader, 1)
    await sdk.close()


async def test_cut_drops_the_connection_mid_stream(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hello world", cut_after=2))
    chunks: list[Any] = []
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        await stream_chat(client, chunks)
    assert contents(chunks) == ["hello", " worl"]


async def test_cut_non_stream_raises_connection_error(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hello", cut_after=0))
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model="gpt-test", messages=MESSAGES)


async def test_end_early_finishes_without_finish_reason(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hello world", end_early_after=2))
    chunks: list[Any] = []
    await stream_chat(client, chunks, stream_options={"include_usage": True})
    assert contents(chunks) == ["hello", " worl"]
    assert finish_reasons(chunks) == []
    assert all(c.usage is None for c in chunks)


async def test_malformed_chunk_raises(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("hello world", malformed_after=1))
    chunks: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        await stream_chat(client, chunks)
    assert contents(chunks) == ["hello"]


async def test_tool_call_streaming(server: MockOpenAI, client: AsyncOpenAI) -> None:
    arguments = {"city": "Paris", "unit": "celsius"}
    weather = {"name": "get_weather", "arguments": arguments, "id": "call_1"}
    server.script(Reply(tool_calls=[weather, {"name": "noop", "arguments": "{}"}]))
    chunks: list[Any] = []
    await stream_chat(client, chunks)
    calls: dict[int, dict[str, str]] = {}
    pieces: list[int] = []
    for chunk in chunks:
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            call["name"] += delta.function.name or ""
            call["arguments"] += delta.function.arguments or ""
            pieces.append(delta.index)
    assert calls[0] == {"id": "call_1", "name": "get_weather", "arguments": json.dumps(arguments)}
    assert (calls[1]["name"], calls[1]["arguments"]) == ("noop", "{}")
    assert pieces.count(0) == 4  # the name, then the arguments in 3 deltas
    assert finish_reasons(chunks) == ["tool_calls"]

    server.script(Reply(tool_calls=[{"name": "get_weather", "arguments": arguments}]))
    completion = await client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    message = completion.choices[0].message
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == arguments
    assert completion.choices[0].finish_reason == "tool_calls"


async def test_requests_are_recorded(server: MockOpenAI, client: AsyncOpenAI) -> None:
    await client.models.list()
    await stream_chat(client, [], temperature=0.5)
    first, second = server.requests
    assert (first.method, first.path, first.json) == ("GET", "/v1/models", None)
    assert (second.method, second.path) == ("POST", "/v1/chat/completions")
    assert second.headers["Authorization"] == "Bearer sk-test"
    assert server.chat_requests == [second.json]
    assert second.json["messages"] == MESSAGES
    assert {k: second.json[k] for k in ("model", "stream", "temperature")} == {
        "model": "gpt-test",
        "stream": True,
        "temperature": 0.5,
    }


async def test_scripted_replies_fifo_then_default_echo(server: MockOpenAI, client: AsyncOpenAI) -> None:
    server.script(Reply.text("first"), Reply.text("second"))
    texts = []
    for _ in range(3):
        chunks: list[Any] = []
        await stream_chat(client, chunks)
        texts.append("".join(contents(chunks)))
    assert texts == ["first", "second", "echo: hi there"]
    completion = await client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert completion.choices[0].message.content == "echo: hi there"


def test_standalone_module_serves_echo() -> None:
    root = Path(__file__).resolve().parents[2]
    python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    command = [sys.executable, "-m", "skynet_dev.mock_openai", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[3]
        sdk = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
        completion = sdk.chat.completions.create(model="gpt-test", messages=MESSAGES)
        assert completion.choices[0].message.content.startswith("echo: hi there")
        # The demo echo says what the model was given: the system prompt (a persona), other
        # system blocks with their items (recalled memories), and the tools offered.
        given = [
            {"role": "system", "content": "You are Captain Hook, a pirate."},
            {"role": "system", "content": "Long-term memory: facts.\n- (member) I live in Lisbon"},
            {"role": "user", "content": "hi there"},
        ]
        tools = [{"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}}]
        shown = sdk.chat.completions.create(model="gpt-test", messages=given, tools=tools)
        assert shown.choices[0].message.content.splitlines() == [
            "echo: hi there",
            "-# system prompt: You are Captain Hook, a pirate.",
            "-# Long-term memory: facts. (member) I live in Lisbon",
            "-# tools offered: calculator",
        ]
        # The cog's default embeddings model is served, so the console demo's memory works.
        result = sdk.embeddings.create(model=DEFAULT_EMBEDDING_MODEL, input=["green tea", "tea, green"])
        first, second = (item.embedding for item in result.data)
        assert math.isclose(sum(a * b for a, b in zip(first, second)), 1.0, rel_tol=1e-5)  # same words
        sdk.close()
    finally:
        process.terminate()
        process.wait(5)
