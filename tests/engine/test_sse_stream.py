"""The provider reads the SSE stream itself (orjson, no typed model per chunk) with the SDK's
request, auth and errors: completion rules, tool calls, non-OpenAI endpoints, malformed chunks."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, List, Optional

import pytest
from aiohttp import web

from skynet.engine.errors import NotOpenAICompatible, Redactor, StreamCut, explain
from skynet.engine.events import TextDelta
from skynet.engine.providers.base import Endpoint, Finish, TokenUsage, ToolCallRequest
from skynet.engine.providers.openai_compat import OpenAICompatibleProvider
from skynet.engine.providers.sse import ProviderStreamError, merged
from skynet_dev.mock_openai import MockOpenAI, Reply

MESSAGES = [{"role": "user", "content": "hi"}]


class RawServer:
    """A local server answering every chat request with the scripted raw body pieces (HTTP 200)."""

    def __init__(self) -> None:
        self.pieces: List[bytes] = []
        self.content_type = "text/event-stream"
        self._runner: Optional[web.AppRunner] = None
        self.base_url = ""

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": self.content_type})
        await response.prepare(request)
        for piece in self.pieces:
            await response.write(piece)
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    async def __aenter__(self) -> "RawServer":
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def chunk(content: Optional[str] = None, finish: Optional[str] = None, **extra: Any) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    body.update(extra)
    return f"data: {json.dumps(body)}\n\n".encode()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    async with RawServer() as server:
        yield server


async def collect(base_url: str, tools: Any = None) -> List[Any]:
    provider = OpenAICompatibleProvider(Endpoint("local", base_url), "sk-test-key-123456", max_retries=0)
    try:
        return [part async for part in provider.stream_chat("gpt-test", MESSAGES, {}, tools=tools)]
    finally:
        await provider.aclose()


async def parts_before_the_cut(base_url: str) -> List[Any]:
    """The parts passed on before the stream raised ``StreamCut`` (which it must)."""
    seen: List[Any] = []
    provider = OpenAICompatibleProvider(Endpoint("local", base_url), None, max_retries=0)
    with pytest.raises(StreamCut):
        try:
            async for part in provider.stream_chat("gpt-test", MESSAGES, {}):
                seen.append(part)
        finally:
            await provider.aclose()
    return seen


async def test_text_usage_and_finish_are_read(raw: RawServer) -> None:
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    raw.pieces = [
        b": keep-alive\n\n",
        chunk("Hel"),
        chunk("lo"),
        chunk(finish="stop"),
        f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode(),
        b"data: [DONE]\n\n",
    ]
    parts = await collect(raw.base_url)
    assert parts == [TextDelta("Hel"), TextDelta("lo"), Finish("stop"), TokenUsage(7, 3)]


async def test_lines_split_across_network_reads_are_reassembled(raw: RawServer) -> None:
    body = chunk("α, β") + chunk("γ") + chunk(finish="length") + b"data: [DONE]\r\n\r\n"
    raw.pieces = [body[i : i + 7] for i in range(0, len(body), 7)]  # cuts lines and UTF-8 sequences
    parts = merged(await collect(raw.base_url))  # how many reads the pieces took is the network's
    assert parts == [TextDelta("α, βγ"), Finish("length")]


async def test_done_without_finish_reason_is_a_complete_answer(raw: RawServer) -> None:
    raw.pieces = [chunk("All "), chunk("there."), b"data: [DONE]\n\n"]
    parts = merged(await collect(raw.base_url))
    assert parts == [TextDelta("All there."), Finish("stop")]


async def test_the_tokens_of_one_read_go_up_as_one_delta(raw: RawServer) -> None:
    # One write of five chunks reaches the cog in one read: one pass through the layers above.
    raw.pieces = [b"".join(chunk(word) for word in ("One ", "read, ", "five ", "tokens", ".")), b"data: [DONE]\n\n"]
    parts = await collect(raw.base_url)
    assert parts[0] == TextDelta("One read, five tokens.")
    assert merged(parts) == [TextDelta("One read, five tokens."), Finish("stop")]


async def test_a_malformed_chunk_after_good_ones_in_the_same_read_keeps_their_text(raw: RawServer) -> None:
    raw.pieces = [chunk("Kept ") + chunk("text.") + b"data: {not json\n\n"]
    assert await parts_before_the_cut(raw.base_url) == [TextDelta("Kept text.")]


async def test_closed_without_done_and_without_finish_reason_is_cut(raw: RawServer) -> None:
    raw.pieces = [chunk("Half an ")]
    assert await parts_before_the_cut(raw.base_url) == [TextDelta("Half an ")]


async def test_finish_reason_without_done_is_complete(raw: RawServer) -> None:
    raw.pieces = [chunk("Done"), chunk(finish="stop")]
    assert await collect(raw.base_url) == [TextDelta("Done"), Finish("stop")]


@pytest.mark.parametrize("bad", [b"data: {not json\n\n", b"data: [1, 2]\n\n", b'data: {"choices": 5}\n\n'])
async def test_malformed_chunk_is_a_clean_stream_cut(raw: RawServer, bad: bytes) -> None:
    raw.pieces = [chunk("ok "), bad, chunk(finish="stop")]
    with pytest.raises(StreamCut):
        await collect(raw.base_url)


async def test_error_inside_the_stream_is_reported_in_words(raw: RawServer) -> None:
    raw.pieces = [chunk("Hi"), b'data: {"error": {"message": "model overloaded"}}\n\n']
    with pytest.raises(ProviderStreamError) as caught:
        await collect(raw.base_url)
    assert "model overloaded" in caught.value.message and "**local**" in caught.value.message


async def test_html_page_with_200_says_the_base_url_is_wrong(raw: RawServer) -> None:
    raw.content_type = "text/html"
    raw.pieces = [b"<!DOCTYPE html>\n<html><head><title>My app</title></head>\n<body>hello</body></html>\n"]
    with pytest.raises(NotOpenAICompatible) as caught:
        await collect(raw.base_url)
    friendly = explain(caught.value, endpoint="local", model="gpt-test", redactor=Redactor())
    assert friendly.kind == "not_openai"
    assert "does not speak the OpenAI API" in friendly.message
    assert "/v1" in friendly.message and "base URL" in friendly.message
    assert raw.base_url in friendly.message


async def test_json_document_instead_of_a_stream_is_not_openai_compatible(raw: RawServer) -> None:
    raw.content_type = "application/json"
    raw.pieces = [b'{"status": "ok", "service": "something else"}']  # no newline at all
    with pytest.raises(NotOpenAICompatible):
        await collect(raw.base_url)


async def test_tool_call_deltas_are_assembled_before_the_finish() -> None:
    async with MockOpenAI() as server:
        server.script(
            Reply(
                chunks=["Let me look. "],
                tool_calls=[
                    {"id": "call_a", "name": "search", "arguments": {"query": "weather in Paris", "n": 3}},
                    {"id": "call_b", "name": "clock", "arguments": "{}"},
                ],
            )
        )
        tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
        parts = await collect(server.base_url, tools=tools)
        assert server.chat_requests[-1]["tools"] == tools
    texts = [p for p in parts if isinstance(p, TextDelta)]
    calls = [p for p in parts if isinstance(p, ToolCallRequest)]
    assert texts == [TextDelta("Let me look. ")]
    assert calls == [
        ToolCallRequest("call_a", "search", json.dumps({"query": "weather in Paris", "n": 3})),
        ToolCallRequest("call_b", "clock", "{}"),
    ]
    finish_at = next(i for i, p in enumerate(parts) if isinstance(p, Finish))
    assert parts[finish_at] == Finish("tool_calls")
    assert all(parts.index(call) < finish_at for call in calls)


async def test_sdk_still_owns_http_errors() -> None:
    import openai

    async with MockOpenAI(api_key="sk-right-key-123456") as server:
        with pytest.raises(openai.AuthenticationError):
            await collect(server.base_url)
