"""Automatic memories (optional, off by default): ``ai memory auto`` (admins: the server allows it),
``ai memories auto`` (members opt in), ``ai memories confirm|dismiss``. After an answer to an
opted-in member where the server allows it, the model may propose a fact it noticed; the bot asks,
and stores it only when the member confirms. See docs/memory.md and engine/memory/proposals.py.
"""

from __future__ import annotations

from typing import Literal, Optional, Set, Tuple

from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.reply import NO_MENTIONS
from ...engine.errors import InvalidValue
from ...engine.memory.proposals import PROPOSAL_TTL, Proposal
from ...i18n import _
from ..common import reply
from ..common import require_admin as require_server_admin
from .admin import MemoryAdminMixin
from .common import remembered_text, short
from .memories import MemoriesMixin


class AutoMemoriesMixin(MixinMeta):
    _auto_guilds: Set[int]
    _auto_users: Set[int]

    async def auto_memories_load(self) -> None:
        """Cache who allows and who opted in (the gate runs after every answer: no Config read)."""
        self._auto_guilds = {
            g for g, data in (await self.config.all_guilds()).items() if data.get("auto_memories")
        }
        self._auto_users = {
            u for u, data in (await self.config.all_users()).items() if data.get("auto_memories")
        }
        service = self.memory_service
        service.proposal_gate = self._auto_memory_gate
        service.on_proposal = self._show_memory_proposal
        service.proposer.on_usage = self._memory_judge_usage

    def _auto_memory_gate(self, conversation: str, user_id: int) -> Optional[Tuple[Optional[int], int]]:
        """Where a proposal may be made for ``user_id``'s last message, or None. No I/O."""
        if user_id not in self._auto_users or user_id in self.memory_service.incognito:
            return None
        kind, _sep, raw_id = conversation.partition(":")
        if kind != "channel" or not raw_id.isdigit():
            return None
        channel = self.bot.get_channel(int(raw_id))
        guild = getattr(channel, "guild", None)
        if guild is None or guild.id not in self._auto_guilds:
            return None
        gate = self.memory_service.gate  # consent and excluded channels, like every store
        parent_id = getattr(channel, "parent_id", None)
        if gate is not None and not gate.may_store(
            user_id, guild_id=guild.id, channel_id=channel.id, parent_id=parent_id
        ):
            return None
        if not self._judge_may_spend_here(guild.id, user_id):
            return None
        return guild.id, channel.id

    def _judge_may_spend_here(self, guild_id: int, user_id: int) -> bool:
        return self._memory_judge_may_spend((guild_id, user_id))

    async def _show_memory_proposal(self, proposal: Proposal) -> None:
        channel = self.bot.get_channel(proposal.channel_id)
        if channel is None:
            return
        prefix = (await self.bot.get_valid_prefixes(getattr(channel, "guild", None)))[0]
        text = _(
            "💡 <@{user}>, shall I remember “{fact}”? Say `{prefix}ai memories confirm` to store it, or "
            "`{prefix}ai memories dismiss` (it expires in {minutes} minutes)."
        ).format(
            user=proposal.user_id,
            fact=short(proposal.fact, 300),
            prefix=prefix,
            minutes=int(PROPOSAL_TTL // 60),
        )
        await channel.send(text, allowed_mentions=NO_MENTIONS)

    # -- admins ----------------------------------------------------------------------------------

    @MemoryAdminMixin.ai_memory.command(name="auto", with_app_command=False)
    async def ai_memory_auto(self, ctx: commands.Context, state: Literal["on", "off"]) -> None:
        """Allow automatic memories in this server (off by default): for members who opt in with
        `[p]ai memories auto on`, the assistant proposes facts it noticed and stores them only when
        the member confirms."""
        guild = await require_server_admin(ctx)
        on = state == "on"
        await self.config.guild(guild).auto_memories.set(on)
        (self._auto_guilds.add if on else self._auto_guilds.discard)(guild.id)
        if on:
            text = _(
                "Automatic memories are allowed here: members who opt in with `{prefix}ai memories auto on` "
                "get proposals, stored only when they confirm."
            )
        else:
            text = _("Automatic memories are off in this server.")
        await reply(ctx, text.format(prefix=ctx.clean_prefix))

    # -- members ---------------------------------------------------------------------------------

    @MemoriesMixin.ai_memories.command(name="auto", with_app_command=False)
    async def ai_memories_auto(self, ctx: commands.Context, state: Literal["on", "off"]) -> None:
        """Let the assistant propose facts about you it noticed in conversation (where the server
        allows it); nothing is stored until you confirm."""
        on = state == "on"
        await self.config.user(ctx.author).auto_memories.set(on)
        (self._auto_users.add if on else self._auto_users.discard)(ctx.author.id)
        if not on:
            self.memory_service.proposer.forget_user(ctx.author.id)
            await reply(ctx, _("I won't propose memories to you any more."), ephemeral=True)
            return
        if ctx.guild is not None and ctx.guild.id not in self._auto_guilds:
            text = _(
                "Noted. This server hasn't allowed automatic memories (an admin can, with "
                "`{prefix}ai memory auto on`); where it is allowed, I'll propose facts for you to confirm."
            )
        else:
            text = _("I'll propose facts I notice about you; nothing is stored until you confirm.")
        await reply(ctx, text.format(prefix=ctx.clean_prefix), ephemeral=True)

    def _waiting_proposal(self, ctx: commands.Context) -> Proposal:
        """The fact proposed to the caller here (taken: it can be confirmed or dismissed once)."""
        proposal = self.memory_service.proposer.take(ctx.guild.id if ctx.guild else None, ctx.author.id)
        if proposal is None:
            raise InvalidValue(
                _("There is no proposed memory waiting for you (proposals expire after 10 minutes).")
            )
        return proposal

    @MemoriesMixin.ai_memories.command(name="confirm", with_app_command=False)
    async def ai_memories_confirm(self, ctx: commands.Context) -> None:
        """Store the fact the assistant just proposed to you."""
        proposal = self._waiting_proposal(ctx)
        remembered = await self.memory_service.remember(
            proposal.fact,
            guild_id=proposal.guild_id,
            user_id=ctx.author.id,
            channel_id=proposal.channel_id,
            source="auto",
        )
        await reply(ctx, remembered_text(remembered, ctx.clean_prefix), ephemeral=True)

    @MemoriesMixin.ai_memories.command(name="dismiss", with_app_command=False)
    async def ai_memories_dismiss(self, ctx: commands.Context) -> None:
        """Drop the fact the assistant just proposed to you."""
        self._waiting_proposal(ctx)  # taken: it won't be proposed again
        await reply(ctx, _("Dropped; I won't remember it."), ephemeral=True)
