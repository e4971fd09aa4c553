"""A scripted, local, OpenAI-compatible HTTP server for tests and demos.

The official ``openai`` SDK talks to it over real HTTP::

    async with MockOpenAI() as server:
        server.script(Reply.text("hello world", chunk_size=5), Reply.error(429, retry_after=1))
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")

Each ``POST /v1/chat/completions`` consumes the next scripted :class:`Reply` (FIFO),
or uses ``default_reply`` (an echo of the last user message) when the queue is empty.
Precedence: the auth check (only if ``api_key`` was given), then a queued reply with
an explicit ``status``, then the model check, then the scripted/default reply.
Requests rejected by the auth or model check do not consume a queued reply. The
model check applies to every endpoint taking a model (chat and embeddings).

``python -m skynet_dev.mock_openai [--port N] [--delay S]`` runs a standalone echo server for
the console demo (:func:`demo_server`): it also serves the cog's default embeddings model, with
bag-of-words vectors, so ``[p]ai remember`` and recall work against it.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import json
import re
import time
from collections import deque
from dataclasses import replace
from typing import Any, Awaitable, Callable

from aiohttp import web

from skynet_dev.echo_context import content_text as _content_text
from skynet_dev.echo_context import what_the_model_was_given
from skynet_dev.openai_shapes import (
    RecordedRequest,
    Reply,
    choice_body,
    count_tokens,
    deltas_of,
    error_response,
    finish_reason_of,
    hashed_embedding,
    model_not_found,
    tool_calls_of,
    usage_of,
    word_embedding,
)

DEFAULT_MODELS = ("gpt-test", "gpt-other")
# The cog's default embeddings model (skynet.engine.memory.embeddings.DEFAULT_EMBEDDING_MODEL).
DEMO_EMBEDDING_MODEL = "text-embedding-3-small"
DEMO_DELAY = 0.03  # seconds between streamed words: visibly streaming, yet a long echo is quick


def _drop(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Close the connection abruptly; mid-body, the client sees an incomplete chunked message."""
    if request.transport is not None:  # None if the client already went away
        request.transport.close()
    return response


class MockOpenAI:
    """A local OpenAI-compatible server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, models: list[str] | None = None, api_key: str | None = None, port: int = 0) -> None:
        self.models: list[str] = list(models) if models is not None else list(DEFAULT_MODELS)
        self.api_key = api_key
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.default_reply: Reply = Reply(echo=True)
        # /v1/embeddings: "hash" (a random-looking vector per text) or "words" (bag of words:
        # texts sharing words are close). ``embedding_failures``: HTTP statuses answered, in
        # order, to the next embeddings requests (500, 429...).
        self.embeddings: str = "hash"
        self.embedding_failures: deque[int] = deque()
        self._queue: deque[Reply] = deque()
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._ids = 0

    @property
    def base_url(self) -> str:
        """The URL to pass as ``base_url`` to the SDK."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the chat completion requests, in order."""
        return [r.json for r in self.requests if r.path == "/v1/chat/completions"]

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the embeddings requests, in order."""
        return [r.json for r in self.requests if r.path == "/v1/embeddings"]

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat completions (consumed FIFO)."""
        self._queue.extend(replies)

    @staticmethod
    def owns_task(task: asyncio.Task) -> bool:
        """Whether ``task`` is one of the server's connection handlers (they live while a
        client keeps its connection open, so a test waiting for "all tasks" must skip them)."""
        return getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")

    async def start(self) -> None:
        """Bind to 127.0.0.1 (a free port unless one was given) and start serving."""
        app = web.Application(middlewares=[self._record_and_auth])
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Stop serving; in-flight (even stalled) responses are dropped promptly."""
        if self._runner is not None:
            assert self._closing is not None
            self._closing.set()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MockOpenAI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _pause(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (None: forever), waking early on close; return True if closing."""
        assert self._closing is not None
        if seconds != 0:
            try:
                await asyncio.wait_for(self._closing.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        return self._closing.is_set()

    @web.middleware
    async def _record_and_auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            body = None
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers), body))
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return error_response(401, "Incorrect API key provided.", "invalid_api_key")
        if request.method == "POST" and not isinstance(body, dict):
            return error_response(400, "The request body is not a JSON object.", None)
        return await handler(request)

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "mock"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.embedding_failures:
            status = self.embedding_failures.popleft()
            return error_response(status, f"Mock embeddings error (HTTP {status}).", None)
        if body.get("model") not in self.models:
            return model_not_found(body.get("model"))
        inputs = body.get("input") if isinstance(body.get("input"), list) else [body.get("input")]
        texts = [item if isinstance(item, str) else json.dumps(item) for item in inputs]
        data = []
        for index, text in enumerate(texts):
            vector: Any = word_embedding(text) if self.embeddings == "words" else hashed_embedding(text)
            if body.get("encoding_format") == "base64":  # the SDK's default
                vector = base64.b64encode(array.array("f", vector).tobytes()).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(count_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return web.json_response({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if self._queue and self._queue[0].status is not None:
            reply = self._queue.popleft()
            message = reply.error_message or f"Mock error (HTTP {reply.status})."
            return error_response(reply.status, message, reply.error_code, reply.retry_after)
        if body.get("model") not in self.models:
            return model_not_found(body.get("model"))
        reply = self._queue.popleft() if self._queue else self.default_reply
        if reply.echo:
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            last = _content_text(users[-1].get("content")) if users else ""
            text = f"echo: {last}" + (what_the_model_was_given(body) if reply.echo_context else "")
            reply = replace(reply, chunks=re.findall(r"\s*\S+", text), echo=False)
        self._ids += 1
        meta = {"id": f"chatcmpl-mock{self._ids}", "created": int(time.time()), "model": body["model"]}
        if not body.get("stream"):
            return await self._complete(request, reply, meta, usage_of(reply, body) if reply.usage else None)
        include_usage = reply.usage and (body.get("stream_options") or {}).get("include_usage")
        return await self._stream(request, reply, meta, usage_of(reply, body) if include_usage else None)

    async def _complete(
        self, request: web.Request, reply: Reply, meta: dict[str, Any], usage: dict[str, int] | None
    ) -> web.Response:
        """Answer a non-streaming request with one ``chat.completion`` object."""
        if reply.stall_after is not None:
            await self._pause(None)  # returns only when the server closes
        if reply.stall_after is not None or reply.cut_after is not None:
            return _drop(request, web.Response())
        first = reply.first_delay if reply.first_delay is not None else reply.delay
        await self._pause(first + reply.delay * max(0, len(reply.chunks) - 1))
        tool_calls = tool_calls_of(reply)
        content = "".join(reply.chunks) if reply.chunks or not tool_calls else None
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        choice = choice_body(message=message, finish_reason=finish_reason_of(reply))
        result = {**meta, "object": "chat.completion", "choices": [choice]}
        if usage is not None:
            result["usage"] = usage
        return web.json_response(result)

    async def _stream(
        self, request: web.Request, reply: Reply, meta: dict[str, Any], usage: dict[str, int] | None
    ) -> web.StreamResponse:
        """Stream the reply as server-sent ``chat.completion.chunk`` events, with the scripted faults."""
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)  # no Content-Length: chunked transfer encoding

        async def send(data: str) -> None:
            await response.write(f"data: {data}\n\n".encode())

        async def send_chunk(choices: list[dict[str, Any]], **extra: Any) -> None:
            await send(json.dumps({**meta, "object": "chat.completion.chunk", "choices": choices, **extra}))

        deltas = deltas_of(reply)

        def fires(after: int | None, sent: int) -> bool:
            return after is not None and min(after, len(deltas)) == sent

        try:
            for sent in range(len(deltas) + 1):
                if fires(reply.malformed_after, sent):
                    await send("{not json")
                if fires(reply.end_early_after, sent):
                    return response
                if fires(reply.stall_after, sent):
                    await self._pause(None)  # returns only when the server closes
                if fires(reply.stall_after, sent) or fires(reply.cut_after, sent):
                    return _drop(request, response)
                if sent == len(deltas):
                    break
                first = reply.first_delay if reply.first_delay is not None else reply.delay
                if await self._pause(first if sent == 0 else reply.delay):
                    return _drop(request, response)
                await send_chunk([choice_body(delta=deltas[sent])])
            await send_chunk([choice_body(delta={}, finish_reason=finish_reason_of(reply))])
            if usage is not None:
                await send_chunk([], usage=usage)
            await send("[DONE]")
            return response
        except ConnectionResetError:  # the client went away (a reply stopped): as a server would, quietly
            return response


def demo_server(port: int = 0, delay: float = DEMO_DELAY) -> MockOpenAI:
    """The standalone server: echoes word by word every ``delay`` seconds and serves the cog's
    default embeddings model, with bag-of-words vectors (memories sharing words are recalled).
    Each echo ends with what the model was given that matters (system prompt, recalled
    memories, offered tools), so a newcomer sees personas, memory and tools take effect."""
    server = MockOpenAI(port=port, models=[*DEFAULT_MODELS, DEMO_EMBEDDING_MODEL])
    server.default_reply = replace(server.default_reply, delay=delay, echo_context=True)
    server.embeddings = "words"
    return server


async def _serve(port: int, delay: float) -> None:
    async with demo_server(port, delay) as server:
        models = ", ".join(server.models)
        print(f"MockOpenAI serving at {server.base_url} (models: {models}); Ctrl-C to stop", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Entry point of ``python -m skynet_dev.mock_openai``: an echoing server until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run a local, echoing, OpenAI-compatible mock server.")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--delay", type=float, default=DEMO_DELAY, help="seconds between streamed words")
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.port, args.delay))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
