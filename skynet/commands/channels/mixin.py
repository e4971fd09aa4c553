"""The channel assistant assembled: one listener for the messages it acts on."""

from __future__ import annotations

import discord
from redbot.core import commands

from .autoanswer import AutoAnswerMixin, HelpfulButton
from .mykey import MyKeyMixin
from .schedule import ScheduleMixin
from .threads import ThreadsMixin
from .tldr import TldrMixin


class ChannelsMixin(TldrMixin, ScheduleMixin, ThreadsMixin, AutoAnswerMixin, MyKeyMixin):
    @commands.Cog.listener("on_message_without_command")
    async def channels_on_message(self, message: discord.Message) -> None:
        """Follow-ups in the assistant's threads, then auto-answers (a dict lookup when neither is on)."""
        guild = message.guild
        if guild is None or message.author.bot or message.webhook_id is not None or not message.content:
            return
        if await self.follow_up(message):
            return
        await self.maybe_autoanswer(message)

    def channels_init(self) -> None:
        """__init__: after the tools and memory exist."""
        self.init_channels()
        self.tool_service.registry.add(self.remind_tool())

    async def channels_start(self) -> None:
        """cog_load: stores, open threads, the tick, the vault."""
        await self.channels_load()
        await self.load_vault()
        self.bot.add_dynamic_items(HelpfulButton)

    async def channels_stop(self) -> None:
        """cog_unload."""
        self.bot.remove_dynamic_items(HelpfulButton)
        await self.channels_unload()
