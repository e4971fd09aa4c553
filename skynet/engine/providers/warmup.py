"""Warm what the first answer after a load would pay for, without a network request.

The first streamed request of a process builds the ``openai`` SDK's request-transform caches (type
hints of every parameter type, ~40 ms of CPU), imports the lazily loaded parts of httpx, the SDK's
streaming response and skynet's SSE reader. ``warm_up_blocking`` runs one complete streamed chat
request (with a tool, so the tool types are warmed too) through the SDK, the provider and the SSE
reader against an in-memory ``httpx.MockTransport``: nothing leaves the process. It runs in a
worker thread with its own event loop after ``cog_load``, so ``[p]load`` does not wait for it and
the bot's event loop is not blocked by it.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import openai

from .base import Endpoint
from .openai_compat import OpenAICompatibleProvider

log = logging.getLogger("red.skynet.providers")

_SSE = (
    b'data: {"id":"w","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"ok"},"finish_reason":null}]}\n\n'
    b'data: {"id":"w","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,'
    b'"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n'
    b"data: [DONE]\n\n"
)
_TOOL = {
    "type": "function",
    "function": {"name": "warm_up", "description": "-", "parameters": {"type": "object", "properties": {}}},
}


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_SSE)


async def warm_up() -> int:
    """One streamed chat request through the whole provider path, in memory; the parts read."""
    http = openai.DefaultAsyncHttpxClient(transport=httpx.MockTransport(_answer))
    provider = OpenAICompatibleProvider(Endpoint("warm-up", "http://warm-up.invalid/v1"), "sk-warm-up", http_client=http)
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "hello", "name": "member"},
    ]
    try:
        parts = [
            part
            async for part in provider.stream_chat(
                "gpt-4o-mini", messages, {"temperature": 0.7, "max_tokens": 16}, tools=[_TOOL]
            )
        ]
    finally:
        await http.aclose()
    return len(parts)


def warm_up_blocking() -> None:
    """``warm_up`` on an event loop of its own (call it in a worker thread). Never raises."""
    try:
        asyncio.run(warm_up())
    except Exception:  # noqa: BLE001 - warming is an optimisation: the first answer just pays
        log.debug("Warming the provider path failed", exc_info=True)
