"""One provider request whose whole answer is needed at once (summary chunks, auto-answers, the
memory judge's small calls)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..events import TextDelta
from .base import ChatProvider, TokenUsage


async def complete(
    provider: ChatProvider, model: str, messages: List[Dict[str, Any]], params: Mapping[str, Any]
) -> Tuple[str, Optional[TokenUsage]]:
    """The answer's text and the usage the provider reported (None if it reported none)."""
    parts: List[str] = []
    usage: Optional[TokenUsage] = None
    stream = provider.stream_chat(model, messages, params)
    try:
        async for part in stream:
            if isinstance(part, TextDelta):
                parts.append(part.text)
            elif isinstance(part, TokenUsage):
                usage = part
    finally:
        await stream.aclose()
    return "".join(parts), usage
