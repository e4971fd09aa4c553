"""Persona replies under the persona's name and avatar, through one reused webhook per channel.

Threads use their parent channel's webhook (``thread=``). Without Manage Webhooks, when creating
the webhook is refused, or when it is deleted mid-stream, the reply continues as a normal bot
message that starts with the persona's name.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Set

import discord

from .reply import NO_MENTIONS

log = logging.getLogger("red.skynet.webhooks")

WEBHOOK_NAME = "Skynet personas"
MAX_MESSAGE = 2000
Send = Callable[[str, bool], Awaitable[Any]]


def _parent(channel: discord.abc.Messageable) -> Optional[discord.TextChannel]:
    parent = channel.parent if isinstance(channel, discord.Thread) else channel
    return parent if isinstance(parent, discord.TextChannel) else None


def _may_manage(channel: Optional[discord.TextChannel]) -> bool:
    return channel is not None and channel.permissions_for(channel.guild.me).manage_webhooks


class ChannelWebhooks:
    """The bot's persona webhook of each channel, found or created once and then reused."""

    def __init__(self) -> None:
        self._hooks: Dict[int, discord.Webhook] = {}
        self._ids: Set[int] = set()  # every persona webhook of the bot seen, also after a forget
        self._listed: Set[int] = set()  # channels whose webhooks were listed since the cog loaded

    async def get(self, channel: discord.abc.Messageable) -> Optional[discord.Webhook]:
        parent = _parent(channel)
        if not _may_manage(parent):
            return None
        hook = self._hooks.get(parent.id)
        if hook is not None:
            return hook
        try:
            hook = await self._find(parent) or await parent.create_webhook(
                name=WEBHOOK_NAME, reason="Replies under a persona's name"
            )
        except discord.HTTPException as exc:
            log.info("No persona webhook in channel %s: %s", parent.id, exc)
            return None
        self._hooks[parent.id] = hook
        self._ids.add(hook.id)
        return hook

    async def _find(self, parent: discord.TextChannel) -> Optional[discord.Webhook]:
        """The channel's persona webhook made by this bot, if it has one (one API call)."""
        self._listed.add(parent.id)
        me = parent.guild.me.id
        hooks = await parent.webhooks()
        found = next(
            (w for w in hooks if w.name == WEBHOOK_NAME and w.token and w.user and w.user.id == me), None
        )
        if found is not None:
            self._ids.add(found.id)
        return found

    async def sent_by_persona(self, message: discord.Message) -> bool:
        """Whether ``message`` is a persona reply of this bot (sent through its webhook).

        Discord shows such a message as written by the webhook, not by the bot; after a restart
        the channel's webhooks are listed once to recognise it."""
        if message.webhook_id is None:
            return False
        if message.webhook_id in self._ids:
            return True
        parent = _parent(message.channel)
        if parent is None or parent.id in self._listed or not _may_manage(parent):
            return False
        try:
            await self._find(parent)
        except discord.HTTPException as exc:
            log.info("Could not list the webhooks of channel %s: %s", parent.id, exc)
            return False
        return message.webhook_id in self._ids

    def forget(self, channel: discord.abc.Messageable) -> None:
        parent = _parent(channel)
        if parent is not None:
            self._hooks.pop(parent.id, None)


def with_name(prefix: str, content: str) -> str:
    """``content`` after the persona's name, unless that would pass Discord's 2000 characters."""
    return prefix + content if len(prefix) + len(content) <= MAX_MESSAGE else content


class PersonaMessage:
    """A reply message the streamer edits; it may move from the webhook to a plain message."""

    def __init__(
        self,
        inner: Any,
        prefix: str,
        fallback: Optional[Callable[[str], Awaitable[Any]]],
        on_error: Optional[Callable[[Exception], None]] = None,
    ) -> None:
        self._on_error = on_error
        self._inner = inner
        self._prefix = prefix  # "" when the webhook shows the name
        self._fallback = fallback  # set while the message is a webhook message

    async def edit(self, *, content: str, **kwargs: Any) -> Any:
        if self._fallback is None:
            return await self._inner.edit(content=with_name(self._prefix, content), **kwargs)
        try:
            return await self._inner.edit(content=content, **kwargs)
        except discord.HTTPException as exc:  # deleted mid-stream, or any refusal: go on plainly
            if self._on_error is not None:
                self._on_error(exc)
            replacement = await self._fallback(content)
            self._inner, self._prefix, self._fallback = replacement._inner, replacement._prefix, None
            return self._inner


def persona_sender(
    send: Send,
    channel: discord.abc.Messageable,
    webhooks: ChannelWebhooks,
    *,
    name: str,
    avatar_url: Optional[str],
    use_webhook: bool,
    on_error: Optional[Callable[[Exception], None]] = None,
) -> Send:
    """A ``send`` for the streamer that shows the reply as ``name`` (and ``avatar_url``).

    Any webhook HTTP error (a name Discord refuses answers 400, a deleted webhook 404, missing
    permissions 403) falls back to a plain reply that starts with the name, and is reported to
    ``on_error`` (the cog notes it for ``[p]ai diag``)."""
    prefix = f"**{discord.utils.escape_markdown(name)}**: "
    thread = channel if isinstance(channel, discord.Thread) else None

    async def plain(content: str, first: bool) -> PersonaMessage:
        message = await send(with_name(prefix, content) if first else content, first)
        return PersonaMessage(message, prefix if first else "", None)

    async def via_webhook(content: str, first: bool) -> PersonaMessage:
        hook = await webhooks.get(channel) if use_webhook else None
        if hook is not None:
            try:
                message = await hook.send(
                    content,
                    username=name[:80],
                    avatar_url=avatar_url or discord.utils.MISSING,
                    allowed_mentions=NO_MENTIONS,
                    thread=thread or discord.utils.MISSING,
                    wait=True,
                )
            except discord.HTTPException as exc:
                log.info("Persona webhook failed in channel %s: %s", channel.id, exc)
                if on_error is not None:
                    on_error(exc)
                if isinstance(exc, (discord.NotFound, discord.Forbidden)):
                    webhooks.forget(channel)
            else:

                async def fallback(text: str) -> PersonaMessage:
                    webhooks.forget(channel)
                    return await plain(text, first)

                return PersonaMessage(message, "", fallback, on_error)
        return await plain(content, first)

    return via_webhook
