"""How the reply streamer turns text into message fields: the classic style or Components V2.

- ``classic``: plain ``content``, 2,000 characters a message; buttons in a view under it. Every
  client and bot reads it.
- ``components``: Discord's Components V2 text displays, 4,000 characters a message: half the
  messages (and edits) for a long answer, code blocks never cut (the splitter keeps fences whole).
  The buttons sit in an action row inside the same layout.

The streamer asks :meth:`Render.fields` for each send or edit and reports what was shown with
:meth:`Render.shown`; at the end :meth:`Render.settle` fixes the buttons of messages whose
content did not change (Stop taken off a finished message, Regenerate put on the last).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import discord

from .controls import Steer, Steering

log = logging.getLogger("red.skynet.reply")

CLASSIC, COMPONENTS = "classic", "components"
STYLES = (CLASSIC, COMPONENTS)
CLASSIC_LIMIT = 2000
TEXT_DISPLAY_LIMIT = 4000
NO_MENTIONS = discord.AllowedMentions.none()


class Render:
    """The classic style: ``content``, with the steering buttons (if any) as a view."""

    limit = CLASSIC_LIMIT

    def __init__(self, steering: Optional[Steering] = None, steer: Optional[Steer] = None) -> None:
        self.steering = steering
        self.steer = steer
        self._buttons: Dict[int, Optional[str]] = {}  # message index -> button state shown

    def desired(self, index: int, *, last: bool, closing: bool) -> Optional[str]:
        """Which buttons message ``index`` should carry now."""
        if self.steer is None or self.steering is None:
            return None
        # Stop rides on the newest message: the edit that completes a message as the answer moves
        # on takes it off there, so the end of a long answer needs no extra edit for the buttons.
        if not closing:
            return "streaming" if last else None
        return self.steer.state if last else None

    def fields(self, index: int, chunk: str, *, last: bool, closing: bool) -> Dict[str, Any]:
        """The keyword arguments of the send or edit showing ``chunk`` as message ``index``."""
        state = self.desired(index, last=last, closing=closing)
        out: Dict[str, Any] = {"content": chunk, "_buttons": state}
        if state != self._buttons.get(index):
            out["view"] = self.steering.view(self.steer, state) if self.steering else None
        return out

    def shown(self, index: int, fields: Dict[str, Any]) -> None:
        self._buttons[index] = fields.get("_buttons")

    async def settle(self, streamer: Any) -> None:
        """After the last text edit: give each message the buttons it should end with."""
        messages: List[discord.Message] = streamer.messages
        chunks: List[str] = streamer.shown_chunks
        for index, message in enumerate(messages):
            last = index == len(messages) - 1
            state = self.desired(index, last=last, closing=True)
            if state == self._buttons.get(index) or streamer.broken:
                continue
            fields = self.fields(index, chunks[index], last=last, closing=True)
            try:
                await streamer.acquire_final()
                if streamer.broken:  # aborted while waiting (the cog unloaded): post nothing more
                    return
                await message.edit(**edit_kwargs(fields), allowed_mentions=NO_MENTIONS)
                self.shown(index, fields)
            except discord.HTTPException as exc:  # cosmetic: the text itself is complete
                log.info("Could not update the buttons of a reply: %s", exc)


class ComponentsRender(Render):
    """Components V2: the text in a text display (4,000 characters), buttons in the same layout."""

    limit = TEXT_DISPLAY_LIMIT

    def fields(self, index: int, chunk: str, *, last: bool, closing: bool) -> Dict[str, Any]:
        state = self.desired(index, last=last, closing=closing)
        view = discord.ui.LayoutView(timeout=None)
        view.add_item(discord.ui.TextDisplay(chunk or "\u200b"))
        buttons = self.steering.buttons(self.steer, state) if (self.steering and state) else []
        if buttons:
            view.add_item(discord.ui.ActionRow(*buttons))
        return {"content": None, "view": view, "_buttons": state}


def edit_kwargs(fields: Dict[str, Any]) -> Dict[str, Any]:
    """``fields`` without the render's own bookkeeping (and without content for V2)."""
    out = {k: v for k, v in fields.items() if not k.startswith("_")}
    if out.get("content") is None:
        out.pop("content", None)
    return out


def send_extras(fields: Dict[str, Any]) -> Dict[str, Any]:
    """What a ``send`` needs besides the content."""
    return {k: v for k, v in edit_kwargs(fields).items() if k != "content"}


def render_for(style: str, steering: Optional[Steering] = None, steer: Optional[Steer] = None) -> Render:
    return (ComponentsRender if style == COMPONENTS else Render)(steering, steer)
