"""Clicking a message's buttons in the harness: a real component interaction (type 3) as Discord
sends it, dispatched through discord.py's view store (persistent views and dynamic items alike).

``await click(harness, message_id, "skynet:steer:stop:…", author=harness.member)`` returns the
interaction; what the bot answered is in ``harness.events`` (``interaction_response`` for an
update or deferred update, ``send`` for an ephemeral message). The harness's fake interaction
endpoints answer the bot's responses and followups, with Discord's 3-second acknowledgement rule.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from typing import Any, Dict, List, Optional

import discord
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner

BUTTON = 2


def _interaction_record_class():
    from skynet_dev.harness.shared import _Interaction

    return _Interaction


def buttons_of(payload: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every button in a message payload's components (classic rows or a Components V2 layout)."""
    found: List[Dict[str, Any]] = []

    def walk(items: Any) -> None:
        for item in items or ():
            if item.get("type") == BUTTON:
                found.append(item)
            walk(item.get("components"))

    walk(payload.get("components"))
    return found


def custom_ids(payload: Dict[str, Any]) -> List[str]:
    return [b.get("custom_id", "") for b in buttons_of(payload)]


async def click(
    harness: Any,
    message_id: int,
    custom_id: str,
    *,
    author: Optional[discord.Member] = None,
    wait: bool = True,
) -> discord.Interaction:
    """``author`` clicks the button ``custom_id`` on the bot's message ``message_id``."""
    author = author or harness.member
    data = harness._message_data.get(message_id)
    if data is None:
        raise KeyError(f"the bot has no message {message_id}")
    channel = harness.bot.get_channel(int(data["channel_id"]))
    record = _interaction_record_class()(
        id=dpy_factories.make_id(),
        token=secrets.token_urlsafe(24),
        type=3,
        channel_id=channel.id,
        created=time.monotonic(),
    )
    harness._interactions[record.token] = record
    record.original_id = message_id  # a component interaction's "original" is the message clicked
    message = copy.deepcopy(data)
    # dpytest stores a sent message without its components: take them (and the flags) from what
    # the bot last sent for it, as Discord would hold them.
    for event in reversed(harness.events):
        if (
            event.message_id == message_id
            and event.kind in ("send", "edit")
            and "components" in event.payload
        ):
            message["components"] = event.payload["components"]
            if "flags" in event.payload:
                message["flags"] = event.payload["flags"]
            break
    message.setdefault("components", [])
    payload = {
        "id": str(record.id),
        "application_id": str(harness.bot.application_id),
        "type": 3,
        "token": record.token,
        "version": 1,
        "guild_id": str(channel.guild.id),
        "channel_id": str(channel.id),
        "channel": {
            "id": str(channel.id),
            "type": channel.type.value,
            "name": channel.name,
            "guild_id": str(channel.guild.id),
        },
        "member": harness._member_payload(author, channel),
        "message": message,
        "data": {"custom_id": custom_id, "component_type": BUTTON},
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": str(channel.permissions_for(channel.guild.me).value),
        "attachment_size_limit": 8 * 1024 * 1024,
        "authorizing_integration_owners": {"0": str(channel.guild.id)},
        "context": 0,
        "entitlements": [],
    }
    state = harness.bot._connection
    before = asyncio.all_tasks()
    state.parse_interaction_create(payload)
    interaction_tasks = [t for t in asyncio.all_tasks() - before]
    if wait:
        await asyncio.gather(*interaction_tasks, return_exceptions=True)
        await dpy_runner.run_all_events()
    return record
