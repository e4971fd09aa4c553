"""``[p]ai consent``: consent when a server wants it, and channels where nothing is kept.

With ``required`` (a server's admins, or the owner's bot-wide default), the assistant neither
answers nor stores anything from a member there until they agree (``[p]ai consent give`` or the
notice's button); ``[p]ai consent withdraw`` forgets them there through the data map.
"""

from __future__ import annotations

import time
from typing import Literal, Optional
from urllib.parse import urlsplit

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import SkynetError
from ...engine.memory.policy import describe as describe_limit
from ...engine.privacy.consent import OFF, REQUIRED, parse_mode
from ...engine.privacy.gate import NO_CONSENT
from ...i18n import _
from ..common import NotAllowed, conversation_key, is_server_admin, reply, resolve_here
from ..group import AIGroup


class ConsentNeeded(SkynetError):
    kind = "consent_needed"


CONSENT_BUTTON = "skynet:consent:agree"


class ConsentView(discord.ui.View):
    """The notice's button: agreeing there is the same as ``[p]ai consent give``. One persistent
    view (no timeout, a fixed custom id) serves every notice, also after a restart."""

    def __init__(self, cog: "ConsentMixin") -> None:
        super().__init__(timeout=None)
        self.cog = cog

    @discord.ui.button(label="✅", style=discord.ButtonStyle.success, custom_id=CONSENT_BUTTON)
    async def agree(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.cog.give_consent(interaction.user.id, interaction.guild_id)
        await interaction.response.send_message(
            _("Thank you: the assistant answers you here now."), ephemeral=True
        )


class ConsentMixin(MixinMeta):
    # -- state ------------------------------------------------------------------------------------

    async def consent_load(self) -> None:
        self.consent_view = ConsentView(self)
        self.bot.add_view(self.consent_view)
        consent = self.privacy.consent
        consent.owner_default = (await self.config.privacy()).get("consent_default") or OFF
        for guild_id, data in (await self.config.all_guilds()).items():
            privacy = data.get("privacy") or {}
            if privacy.get("consent_mode"):
                consent.modes[guild_id] = privacy["consent_mode"]
            self.privacy.gate.excluded_channels.update(int(c) for c in privacy.get("excluded") or ())
        for guild_id, members in (await self.config.all_members()).items():
            for user_id, data in members.items():
                if data.get("consent_at"):
                    consent.give(user_id, guild_id, data["consent_at"])
        for user_id, data in (await self.config.all_users()).items():
            if data.get("consent_at"):
                consent.give(user_id, None, data["consent_at"])

    async def give_consent(self, user_id: int, guild_id: Optional[int]) -> None:
        at = self.privacy.consent.give(user_id, guild_id, time.time())
        if guild_id is None:
            await self.config.user_from_id(user_id).consent_at.set(at)
        else:
            await self.config.member_from_ids(guild_id, user_id).consent_at.set(at)

    def storing_decision(self, author: discord.abc.User, channel: discord.abc.Messageable):
        """The storing gate's decision for what ``author`` says in ``channel`` (no I/O)."""
        guild = getattr(channel, "guild", None)
        return self.privacy.gate.may_store(
            author.id,
            guild_id=guild.id if guild else None,
            channel_id=getattr(channel, "id", None),
            parent_id=getattr(channel, "parent_id", None),
            is_bot=getattr(author, "bot", False),
        )

    def check_consent(self, author: discord.abc.User, channel: discord.abc.Messageable) -> None:
        """Refuse to answer a member who has not consented where the server requires it."""
        guild = getattr(channel, "guild", None)
        if self.privacy.gate.may_answer(author.id, guild_id=guild.id if guild else None).reason == NO_CONSENT:
            raise ConsentNeeded(
                _(
                    "This server asks members to agree before the assistant answers them or keeps "
                    "anything they say. Read what is kept with `[p]ai consent`, then agree with "
                    "`[p]ai consent give`."
                )
            )

    def consent_notice(self, channel: discord.abc.Messageable, prefix: str) -> str:
        settings = resolve_here(self.settings, channel)
        model = settings.model
        endpoint = self.settings.endpoints.get(model.endpoint) if model else None
        host = urlsplit(endpoint.base_url).hostname if endpoint else "?"
        policy = self.memory.policy_for(conversation_key(channel)) if self.memory.policy_for else self.memory.policy
        return (
            _(
                "🔒 **What the assistant does with what you write here**\n"
                "• What you send to the assistant (and, in channels where it listens for context, your "
                "messages there) goes to the AI provider **{endpoint}** (`{host}`), model `{model}`, to be answered.\n"
                "• The recent conversation is kept for up to {age} (`{prefix}ai history clear` forgets it); "
                "facts saved with remember stay until forgotten (`{prefix}ai memories forget`); your usage is counted.\n"
                "• `{prefix}ai incognito on` keeps nothing of yours; `{prefix}ai consent withdraw` forgets "
                "everything of yours in this server."
            ).format(
                endpoint=model.endpoint if model else "?",
                host=host,
                model=model.name if model else "?",
                age=describe_limit("age", policy.max_age_seconds),
                prefix=prefix,
            )
        )

    # -- commands ---------------------------------------------------------------------------------

    @AIGroup.ai.group(name="consent", with_app_command=False, invoke_without_command=True)
    async def ai_consent(self, ctx: commands.Context) -> None:
        """What is sent where and kept how long, and whether you agreed here."""
        guild_id = ctx.guild.id if ctx.guild else None
        consent = self.privacy.consent
        if not consent.required(guild_id):
            state = _("Consent is not required here.")
        elif consent.has_consented(ctx.author.id, guild_id):
            state = _("You agreed here. `{prefix}ai consent withdraw` takes it back.")
        else:
            state = _("This server asks for your consent before the assistant answers you.")
        text = self.consent_notice(ctx.channel, ctx.clean_prefix) + "\n\n" + state.format(prefix=ctx.clean_prefix)
        if consent.required(guild_id) and not consent.has_consented(ctx.author.id, guild_id):
            self.consent_view.agree.label = _("I agree")  # in the member's language
            await reply(ctx, text, view=self.consent_view)
            return
        await reply(ctx, text)

    @ai_consent.command(name="give")
    async def ai_consent_give(self, ctx: commands.Context) -> None:
        """Agree that the assistant answers you here and keeps what the notice says."""
        await self.give_consent(ctx.author.id, ctx.guild.id if ctx.guild else None)
        await reply(
            ctx,
            self.consent_notice(ctx.channel, ctx.clean_prefix)
            + "\n\n"
            + _("✅ Thank you: the assistant answers you here now."),
        )

    @ai_consent.command(name="withdraw")
    async def ai_consent_withdraw(self, ctx: commands.Context) -> None:
        """Take your consent back: everything of yours in this server is forgotten (in DMs: everywhere)."""
        guild_id = ctx.guild.id if ctx.guild else None
        self.privacy.consent.withdraw(ctx.author.id, guild_id)
        if guild_id is None:
            await self.config.user(ctx.author).consent_at.set(None)
            await self.forget_everywhere(ctx.author.id)
        else:
            await self.privacy.data_map.forget(ctx.author.id, guild_id)
        await reply(ctx, _("Consent withdrawn: I forgot everything of yours here."))

    @ai_consent.command(name="mode")
    @commands.guild_only()
    async def ai_consent_mode(self, ctx: commands.Context, mode: str) -> None:
        """Server admins: `required` (members agree first), `off`, or `default` (the owner's choice)."""
        if not await is_server_admin(ctx):
            raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
        chosen = None if mode.strip().lower() == "default" else parse_mode(mode)
        async with self.config.guild(ctx.guild).privacy() as privacy:
            privacy["consent_mode"] = chosen
        if chosen is None:
            self.privacy.consent.modes.pop(ctx.guild.id, None)
        else:
            self.privacy.consent.modes[ctx.guild.id] = chosen
        effective = self.privacy.consent.mode(ctx.guild.id)
        await reply(
            ctx,
            _("Consent is now required here: members must run `{prefix}ai consent give` first.").format(
                prefix=ctx.clean_prefix
            )
            if effective == REQUIRED
            else _("Consent is not required here."),
        )

    @ai_consent.command(name="default")
    @commands.is_owner()
    async def ai_consent_default(self, ctx: commands.Context, mode: Literal["off", "required"]) -> None:
        """Bot owner: the consent mode of servers that chose none, and of DMs."""
        async with self.config.privacy() as privacy:
            privacy["consent_default"] = parse_mode(mode)
        self.privacy.consent.owner_default = parse_mode(mode)
        await reply(ctx, _("The bot-wide consent default is now `{mode}`.").format(mode=mode))

    @ai_consent.command(name="exclude")
    @commands.guild_only()
    async def ai_consent_exclude(
        self, ctx: commands.Context, channel: discord.TextChannel, state: Literal["on", "off"]
    ) -> None:
        """Server admins: `on` keeps nothing said in a channel (and its threads); `off` undoes it."""
        if not await is_server_admin(ctx):
            raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
        async with self.config.guild(ctx.guild).privacy() as privacy:
            excluded = set(privacy.get("excluded") or ())
            (excluded.add if state == "on" else excluded.discard)(channel.id)
            privacy["excluded"] = sorted(excluded)
        (self.privacy.gate.excluded_channels.add if state == "on" else self.privacy.gate.excluded_channels.discard)(
            channel.id
        )
        await reply(
            ctx,
            _("Nothing said in {channel} is kept from now on.").format(channel=channel.mention)
            if state == "on"
            else _("{channel} is kept like other channels again.").format(channel=channel.mention),
        )
