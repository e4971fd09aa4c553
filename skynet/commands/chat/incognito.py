"""The mark on replies to incognito members."""

from __future__ import annotations

from typing import AsyncIterator

from ...engine.events import ChatEvent, TextDelta

INCOGNITO_MARK = "🕶️ "


async def with_incognito_mark(events: AsyncIterator[ChatEvent]) -> AsyncIterator[ChatEvent]:
    """The reply to an incognito member starts with 🕶️, so they see nothing is being kept."""
    marked = False
    try:
        async for event in events:
            if not marked and isinstance(event, TextDelta):
                marked = True
                event = TextDelta(INCOGNITO_MARK + event.text)
            yield event
    finally:
        await events.aclose()
