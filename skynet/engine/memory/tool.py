"""The ``remember`` tool: the model saves a fact to long-term memory.

The tools registry (another branch, merged by the lead) registers it: ``REMEMBER_SCHEMA`` is the
OpenAI tool schema and :func:`remember_tool` the handler, called with the raw JSON arguments the
model produced and who/where the conversation is. It goes through the same rules as
``[p]ai remember`` (incognito, size and per-member caps, scoping), so the model can do nothing a
member could not.
"""

from __future__ import annotations

import json
from typing import Optional

from ..errors import SkynetError
from .recall import MEMBER_SCOPE, SERVER_SCOPE
from .service import MemoryService

REMEMBER_SCHEMA = {
    "type": "function",
    "function": {
        "name": "remember",
        "description": (
            "Save a short fact to long-term memory so it can be recalled in later conversations. "
            "Use it only when the member asks you to remember something or states a lasting personal "
            "preference or fact about themselves."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "fact": {"type": "string", "description": "The fact, in one short sentence."},
                "about": {
                    "type": "string",
                    "enum": [MEMBER_SCOPE, SERVER_SCOPE],
                    "description": "member: about the person speaking (default); server: about this server.",
                },
            },
            "required": ["fact"],
        },
    },
}


async def remember_tool(
    service: MemoryService,
    arguments: str,
    *,
    guild_id: Optional[int],
    user_id: int,
    channel_id: Optional[int],
    may_set_server: bool = False,
) -> str:
    """Run one ``remember`` call; returns the text given back to the model (never raises).

    A fact ``about: server`` goes into every member's prompts, so only a speaker who may manage
    the server makes one; anyone else's (or a page's, read by a tool) is kept about the speaker."""
    try:
        data = json.loads(arguments or "{}")
        fact = str(data.get("fact", ""))
        scope = SERVER_SCOPE if data.get("about") == SERVER_SCOPE else MEMBER_SCOPE
    except (ValueError, AttributeError):
        return "Not saved: the arguments were not valid JSON with a `fact`."
    downgraded = scope == SERVER_SCOPE and not may_set_server
    if downgraded:
        scope = MEMBER_SCOPE
    try:
        remembered = await service.remember(
            fact, guild_id=guild_id, user_id=user_id, channel_id=channel_id, source="tool", scope=scope
        )
    except SkynetError as exc:
        return f"Not saved: {exc.message}"
    about = (
        " About the member only: only server admins can save facts about the server (tell them to ask an admin)."
        if downgraded
        else ""
    )
    if remembered.action == "duplicate":
        return f"Already remembered as memory {remembered.id} ({remembered.text!r}); not saved again." + about
    if remembered.action == "update":
        return (
            f"Saved as memory {remembered.id}; it replaces the older fact {remembered.replaced.text!r}, "
            "kept as history. Tell the member what changed." + about
        )
    return f"Saved as memory {remembered.id}." + about
