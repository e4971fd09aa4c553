"""Reading an OpenAI-style chat completion stream (server-sent events) without the SDK's models.

The SDK builds a typed pydantic model for every chunk; at a few hundred concurrent replies that
was most of the bot's CPU. Here the raw bytes are split into lines and each ``data:`` payload is
decoded with orjson (the stdlib ``json`` if it is missing) into plain dicts, keeping only what the
chat loop needs: text deltas, usage, tool-call deltas assembled by index, the finish reason.

Completion rules:
* a ``finish_reason`` or ``data: [DONE]`` means the answer is complete (some servers send only
  one of them);
* a body that closes with neither is cut (``StreamCut``);
* a body that is not SSE at all (an HTML page, a JSON document) means the base URL does not point
  at an OpenAI-compatible API (``NotOpenAICompatible``);
* an undecodable or ill-shaped chunk is a clean ``StreamCut``, never a crash.
"""

from __future__ import annotations

from typing import Any, AsyncIterable, AsyncIterator, Dict, List, Optional, Tuple

from ..errors import NotOpenAICompatible, SkynetError, StreamCut
from ..events import TextDelta
from ..i18n import _
from ..media.reasoning import ReasoningDelta, ThinkTags, reasoning_tokens_of
from .base import Finish, StreamPart, TokenUsage, ToolCallRequest

try:  # orjson comes with Red; the stdlib decoder is the (slower) fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads

DONE = b"[DONE]"
_SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")


class ProviderStreamError(SkynetError):
    """The provider reported an error inside a 200 stream (``data: {"error": ...}``)."""

    kind = "provider_error"


class _ToolCall:
    __slots__ = ("id", "name", "arguments")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: List[str] = []


class ChunkReader:
    """Turns decoded chunks into stream parts; tracks completion. One per stream."""

    def __init__(self, endpoint: str = "the provider") -> None:
        self.endpoint = endpoint
        self.finished = False  # a finish_reason was seen
        self._calls: Dict[int, _ToolCall] = {}
        self._think = ThinkTags()  # inline <think>…</think> in the content (media.reasoning)

    def parts(self, chunk: Any) -> List[StreamPart]:
        """The parts carried by one decoded ``chat.completion.chunk``."""
        if not isinstance(chunk, dict):
            raise StreamCut(f"malformed chunk: {type(chunk).__name__} instead of an object")
        out: List[StreamPart] = []
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else error
            text = " ".join(str(message or _("no details")).split())[:200]
            raise ProviderStreamError(
                _("**{endpoint}** stopped with an error: {reason}").format(
                    endpoint=self.endpoint, reason=text
                )
            )
        usage = chunk.get("usage")
        if usage:
            out.append(
                TokenUsage(
                    int(usage.get("prompt_tokens") or 0),
                    int(usage.get("completion_tokens") or 0),
                    reasoning_tokens_of(usage),
                )
            )
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    think = self._think
                    if think.idle and "<" not in content:  # the common case: plain answer text
                        out.append(TextDelta(content))
                    else:
                        out.extend(think.split(content))
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning and isinstance(reasoning, str):
                    out.append(ReasoningDelta(reasoning))
                calls = delta.get("tool_calls")
                if calls:
                    self._add_tool_deltas(calls)
            reason = choice.get("finish_reason")
            if reason:
                out.extend(self._think.flush())
                out.extend(self.assembled_tool_calls())
                self.finished = True
                out.append(Finish(reason))
        return out

    def _add_tool_deltas(self, calls: List[Dict[str, Any]]) -> None:
        for piece in calls:
            call = self._calls.setdefault(int(piece.get("index") or 0), _ToolCall())
            if piece.get("id"):
                call.id = piece["id"]
            function = piece.get("function") or {}
            if function.get("name") and not call.name:
                call.name = function["name"]
            if function.get("arguments"):
                call.arguments.append(function["arguments"])

    def assembled_tool_calls(self) -> List[ToolCallRequest]:
        """The tool calls streamed so far, complete, in index order (each returned once)."""
        calls = [
            ToolCallRequest(call.id or f"call_{index}", call.name, "".join(call.arguments))
            for index, call in sorted(self._calls.items())
        ]
        self._calls.clear()
        return calls

    def end_of_stream(self, saw_done: bool) -> List[StreamPart]:
        """What to yield when the body ends; raises ``StreamCut`` for an incomplete answer."""
        if self.finished:
            return []
        if not saw_done:
            raise StreamCut("stream ended without a finish_reason or [DONE]")
        calls = self.assembled_tool_calls()
        self.finished = True
        return [*self._think.flush(), *calls, Finish("tool_calls" if calls else "stop")]


async def read_stream(
    body: AsyncIterable[bytes], *, endpoint: str, base_url: str
) -> AsyncIterator[StreamPart]:
    """Parse the raw bytes of a streamed chat completion into stream parts."""
    reader = ChunkReader(endpoint)
    buffer = b""
    checked = False
    saw_done = False
    async for data in body:
        buffer = buffer + data if buffer else data
        if b"\n" not in buffer:
            if not checked and len(buffer) > 4096:
                _check_sse(buffer, endpoint, base_url)
                checked = True
            continue
        *lines, buffer = buffer.split(b"\n")
        if not checked:
            _check_sse(b"\n".join(lines), endpoint, base_url)
            checked = True
        arrived, saw_done, fault = _parts_of(lines, reader)
        for part in merged(arrived):
            yield part
        if fault is not None:
            raise fault
        if saw_done:
            break
    if not checked and buffer.strip():
        _check_sse(buffer, endpoint, base_url)
    for part in reader.end_of_stream(saw_done):
        yield part


def _parts_of(lines: List[bytes], reader: ChunkReader) -> Tuple[List[StreamPart], bool, Optional[Exception]]:
    """The parts of one read's complete lines, whether ``[DONE]`` came, and the fault that ended
    them early (raised after the parts before it are passed on: text already sent stays)."""
    arrived: List[StreamPart] = []
    for line in lines:
        if not line.startswith(b"data:"):
            continue  # blank separators, comments (": keep-alive"), event/id fields
        payload = line[5:].strip()
        if payload == DONE:
            return arrived, True, None
        if not payload:
            continue
        try:
            chunk = _loads(payload)
        except ValueError as exc:
            return arrived, False, StreamCut(f"malformed chunk: {exc}")
        try:
            arrived.extend(reader.parts(chunk))
        except (AttributeError, TypeError, ValueError) as exc:
            return arrived, False, StreamCut(f"malformed chunk: {exc!r}")
        except SkynetError as exc:  # the provider's own error chunk
            return arrived, False, exc
    return arrived, False, None


def merged(parts: List[StreamPart]) -> List[StreamPart]:
    """One delta for the text (and one for the thinking) that came in a row in one network read:
    every part goes up through the failover, governance, chat and reply layers, so a read of five
    tokens costs one pass instead of five. The text is the same."""
    if len(parts) < 2:
        return parts
    out: List[StreamPart] = []
    for part in parts:
        last = out[-1] if out else None
        if type(part) is type(last) and isinstance(part, (TextDelta, ReasoningDelta)):
            out[-1] = type(part)(last.text + part.text)
        else:
            out.append(part)
    return out


def _check_sse(head: bytes, endpoint: str, base_url: str) -> None:
    """Refuse a body whose first meaningful line is not an SSE field (an HTML page, JSON...)."""
    for line in head.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith(_SSE_FIELDS):
            return
        raise NotOpenAICompatible(not_openai_message(endpoint, base_url))


def not_openai_message(endpoint: str, base_url: Optional[str]) -> str:
    where = f"**{endpoint}** (<{base_url}>)" if base_url else f"**{endpoint}**"
    return _(
        "{where} does not speak the OpenAI API: it answered with something that is not an "
        "OpenAI-style stream (a web page?). Check the base URL: it usually ends in `/v1` "
        "(fix it with `[p]ai provider add {endpoint} <base_url> [service]`)."
    ).format(where=where, endpoint=endpoint)
