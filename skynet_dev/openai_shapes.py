"""The OpenAI API's documented shapes, as the local mock server (``mock_openai``) answers them.

:class:`Reply` scripts one chat completion (text, tool calls, errors, pauses); the functions turn
it into the bodies the API sends: a completion's choices and usage, the streamed deltas, error
bodies, and embeddings (hashed vectors, or bag-of-words ones that make recall tests meaningful).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from skynet_dev.echo_context import content_text as _content_text


@dataclass
class RecordedRequest:
    """One HTTP request received by the server."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any | None


@dataclass
class Reply:
    """Describes ONE response to ``POST /v1/chat/completions``.

    The ``*_after`` faults count streamed deltas (text chunks and tool-call pieces);
    a count beyond the last delta fires just before the finish_reason chunk. For
    non-stream requests only ``stall_after`` (hang) and ``cut_after`` (drop the
    connection without answering) apply. ``finish_reason=None`` means "tool_calls"
    when ``tool_calls`` are scripted, else "stop". ``echo=True`` replaces ``chunks``
    with "echo: <last user message>", streamed word by word.
    """

    chunks: list[str] = field(default_factory=list)
    delay: float = 0.0
    first_delay: float | None = None
    usage: bool = True
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None
    stall_after: int | None = None
    cut_after: int | None = None
    end_early_after: int | None = None
    malformed_after: int | None = None
    tool_calls: list[dict[str, Any]] | None = None
    echo: bool = False
    # With echo: also say what the model was given that shapes an answer (the demo server's
    # default, so a persona, recalled memories and offered tools visibly take effect).
    echo_context: bool = False

    @classmethod
    def text(cls, text: str, chunk_size: int = 5, **fields: Any) -> Reply:
        """A reply streaming ``text`` in deltas of ``chunk_size`` characters."""
        chunks = [text[i : i + chunk_size] for i in range(0, len(text), chunk_size)]
        return cls(chunks=chunks, **fields)

    @classmethod
    def call(cls, name: str, arguments: Any = None, *more: tuple[str, Any], **fields: Any) -> Reply:
        """A reply calling tool ``name`` (``arguments``: a dict, or raw text such as invalid JSON);
        ``more`` adds further parallel calls as ``(name, arguments)`` pairs."""
        calls = [(name, {} if arguments is None else arguments), *more]
        tool_calls = [{"name": n, "arguments": a, "id": f"call_{i}_{n}"} for i, (n, a) in enumerate(calls)]
        return cls(tool_calls=tool_calls, **fields)

    @classmethod
    def error(
        cls,
        status: int,
        code: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> Reply:
        """A reply answering with HTTP ``status`` and an OpenAI-style error body."""
        return cls(status=status, error_code=code, error_message=message, retry_after=retry_after)


def error_response(
    status: int, message: str, code: str | None, retry_after: float | None = None
) -> web.Response:
    """An error response shaped like OpenAI's ``{"error": {...}}``."""
    if code == "insufficient_quota":
        error_type = "insufficient_quota"
    elif status == 429:
        error_type = "requests"
    else:
        error_type = "server_error" if status >= 500 else "invalid_request_error"
    headers = {"Retry-After": str(retry_after).removesuffix(".0")} if retry_after is not None else None
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def model_not_found(model: Any) -> web.Response:
    """OpenAI's 404 for a model that is not served."""
    message = f"The model `{model}` does not exist or you do not have access to it."
    return error_response(404, message, "model_not_found")


def count_tokens(text: str) -> int:
    """A deterministic token estimate: the number of words."""
    return len(text.split())


def hashed_embedding(text: str, dims: int = 16) -> list[float]:
    """A deterministic unit vector derived from a hash of ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i] - 127.5) / 127.5 for i in range(dims)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


_STOPWORDS = frozenset(
    "a an and are as at be by do does did for from has have i in is it its me my of on or our so that the "
    "their them they this to was we what when where which who whom why will with you your".split()
)


def word_embedding(text: str, dims: int = 512) -> list[float]:
    """A deterministic bag-of-words unit vector (hashed words, crude plural folding): texts that
    share words are close, so recall can be tested without a real model."""
    vector = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s"):
            word = word[:-1]
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dims] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if not norm:
        vector[0], norm = 1.0, 1.0
    return [x / norm for x in vector]


def choice_body(finish_reason: str | None = None, **content: Any) -> dict[str, Any]:
    """A choice object; ``content`` is ``delta=...`` (stream chunks) or ``message=...``."""
    return {"index": 0, **content, "finish_reason": finish_reason, "logprobs": None}


def finish_reason_of(reply: Reply) -> str:
    """The scripted finish_reason, else "tool_calls" or "stop"."""
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def tool_calls_of(reply: Reply) -> list[dict[str, Any]]:
    """The scripted tool calls in OpenAI's message format (arguments as JSON text)."""
    calls = []
    for index, call in enumerate(reply.tool_calls or []):
        arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        function = {"name": call["name"], "arguments": arguments}
        calls.append({"id": call.get("id") or f"call_mock{index}", "type": "function", "function": function})
    return calls


def deltas_of(reply: Reply) -> list[dict[str, Any]]:
    """The streamed deltas: text chunks, then each tool call with its arguments in 3 pieces."""
    deltas: list[dict[str, Any]] = [{"content": chunk} for chunk in reply.chunks]
    for index, call in enumerate(tool_calls_of(reply)):
        arguments = call["function"]["arguments"]
        head = {**call, "index": index, "function": {"name": call["function"]["name"], "arguments": ""}}
        deltas.append({"tool_calls": [head]})
        size = max(1, math.ceil(len(arguments) / 3))
        for i in range(0, len(arguments), size):
            piece = {"index": index, "function": {"arguments": arguments[i : i + size]}}
            deltas.append({"tool_calls": [piece]})
    deltas = deltas or [{"content": ""}]
    deltas[0] = {"role": "assistant", **deltas[0]}
    return deltas


def usage_of(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    """Token usage: the scripted numbers, else word-count estimates."""
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = sum(count_tokens(_content_text(m.get("content"))) for m in body.get("messages", []))
    completion = reply.completion_tokens
    if completion is None:
        arguments = [call["function"]["arguments"] for call in tool_calls_of(reply)]
        completion = count_tokens(" ".join(["".join(reply.chunks), *arguments]))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
