"""``[p]ai mykey``: members use their own provider key (when the owner allows it)."""

from __future__ import annotations

import logging
from typing import AsyncIterator, Optional

import discord
from redbot.core import commands

from ...engine.channels.vault import (
    VAULT_FIELD,
    VAULT_SERVICE,
    KeyVault,
    OwnKey,
    StoredKey,
    check_key_text,
    new_vault_key,
)
from ...engine.chat import ChatRequest
from ...engine.errors import InvalidValue
from ...engine.events import ChatEvent, Failed
from ...engine.settings import ResolvedSettings
from ...i18n import _
from ..common import NotAllowed, reply
from ..group import AIGroup
from .core import ChannelsCore

log = logging.getLogger("red.skynet.channels")
FAILING_KINDS = ("bad_key", "quota")


class MyKeyMixin(ChannelsCore):
    _vault: Optional[KeyVault] = None

    async def load_vault(self, create: bool = False) -> Optional[KeyVault]:
        """The vault, from its key in Red's shared tokens (made on first use)."""
        tokens = await self.bot.get_shared_api_tokens(VAULT_SERVICE)
        secret = tokens.get(VAULT_FIELD)
        if not secret and create:
            secret = new_vault_key()
            await self.bot.set_shared_api_tokens(VAULT_SERVICE, **{VAULT_FIELD: secret})
        self._vault = KeyVault(secret) if secret else None
        if secret:
            self.redactor.add(secret)
        return self._vault

    def own_key_for(self, user_id: int, settings: ResolvedSettings) -> Optional[OwnKey]:
        """The member's own key if it applies to this request's model (no I/O)."""
        if not self.channels.own_keys_allowed or self._vault is None:
            return None
        stored = self.channels.own_key(user_id)
        if stored is None or stored.failing or stored.endpoint != settings.model.endpoint:
            return None
        secret = self._vault.open(stored.token)
        return OwnKey(stored.endpoint, secret) if secret else None

    async def guard_own_key(self, request: ChatRequest, events: AsyncIterator[ChatEvent],
                            member: discord.abc.User) -> AsyncIterator[ChatEvent]:
        """A failing own key is the member's business: the channel sees a neutral note, the member
        a private notice, and the key is set aside until they set a new one."""
        try:
            async for event in events:
                if isinstance(event, Failed) and request.own_key is not None and event.kind in FAILING_KINDS:
                    await self.own_key_failed(member, request.own_key.endpoint, event.kind)
                    event = Failed(event.kind, _("I couldn't answer with your own API key; I've sent you a private message about it."))
                yield event
        finally:
            await events.aclose()

    async def own_key_failed(self, member: discord.abc.User, endpoint: str, kind: str) -> None:
        stored = self.channels.own_key(member.id)
        if stored is not None:
            await self.channels.set_own_key(member.id, StoredKey(stored.endpoint, stored.token, stored.added, True))
        if kind == "quota":
            text = _("Your own API key for **{endpoint}** is out of credit, so I answered nothing with it.")
        else:
            text = _("**{endpoint}** rejected your own API key, so I answered nothing with it.")
        text += " " + _("Until you set a new one with `[p]ai mykey set` here, your requests use the server's budget.")
        try:
            await member.send(text.format(endpoint=endpoint).replace("[p]", self._default_prefix),
                              allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.info("Couldn't DM member %s about their failing key", member.id)

    # -- commands

    @AIGroup.ai.group(name="mykey", with_app_command=False)
    async def ai_mykey(self, ctx: commands.Context) -> None:
        """Use your own provider API key: your requests then don't use the server's budget."""

    @ai_mykey.command(name="set")
    async def ai_mykey_set(self, ctx: commands.Context, key: str = "", endpoint: Optional[str] = None) -> None:
        """In a DM to the bot: `[p]ai mykey set <key> [endpoint]` (default: the endpoint of the bot's model).

        The key is stored encrypted and never shown again. A key sent in a server is deleted at once.
        """
        if ctx.guild is not None:
            try:
                await ctx.message.delete()
                gone = _("I deleted your message.")
            except discord.HTTPException:
                gone = _("I couldn't delete your message: delete it yourself now, and replace that key at your provider.")
            raise NotAllowed(gone + " " + _("Never post a key in a server; send `[p]ai mykey set <key>` to me in a DM."))
        if not self.channels.own_keys_allowed:
            raise NotAllowed(_("The bot owner hasn't allowed members' own keys."))
        secret = check_key_text(key)
        name = endpoint or self.settings.resolve(None, None).model.endpoint
        self.providers.get(name)  # refuses an unknown endpoint, listing the known ones
        vault = self._vault or await self.load_vault(create=True)
        self.redactor.add(secret)
        await self.channels.set_own_key(ctx.author.id, StoredKey(name, vault.seal(secret), self.channels_clock.now()))
        await reply(ctx, _("Saved, encrypted. Your requests on **{endpoint}** now use your key: the server's "
                           "budget no longer limits you (its rate limits and rules still apply), and your "
                           "usage is still counted (`[p]ai mykey status`).").format(endpoint=name))

    @ai_mykey.command(name="remove")
    async def ai_mykey_remove(self, ctx: commands.Context) -> None:
        """Delete your key."""
        had = self.channels.own_key(ctx.author.id) is not None
        await self.channels.set_own_key(ctx.author.id, None)
        await reply(ctx, _("Your key is deleted.") if had else _("You have no key stored."))

    @ai_mykey.command(name="status")
    async def ai_mykey_status(self, ctx: commands.Context) -> None:
        """Whether you have a key stored, where it is used, and your usage (never the key)."""
        stored = self.channels.own_key(ctx.author.id)
        if stored is None:
            text = _("You have no key stored.")
        else:
            state = _("rejected last time: set a new one") if stored.failing else _("in use")
            text = _("Your key for **{endpoint}**, saved {when}: {state}.").format(
                endpoint=stored.endpoint, when=f"<t:{int(stored.added)}:R>", state=state)
            if not self.channels.own_keys_allowed:
                text += " " + _("The bot owner doesn't allow own keys at the moment, so it isn't used.")
        counted = await self.usage.of_user(ctx.author.id)
        tokens = sum(c.total_tokens for c in counted.values())
        requests = sum(c.requests for c in counted.values())
        text += "\n" + _("Your usage: {requests} requests, {tokens} tokens.").format(requests=requests, tokens=f"{tokens:,}")
        await reply(ctx, text)

    @ai_mykey.command(name="allow")
    @commands.is_owner()
    async def ai_mykey_allow(self, ctx: commands.Context, state: str) -> None:
        """Owner: `on` lets members use their own keys, `off` stops using them."""
        if state not in ("on", "off"):
            raise InvalidValue(_("Say `on` or `off`."))
        await self.channels.allow_own_keys(state == "on")
        if state == "on" and self._vault is None:
            await self.load_vault(create=True)
        await reply(ctx, _("Members' own keys are allowed.") if state == "on" else _("Members' own keys are not used."))
