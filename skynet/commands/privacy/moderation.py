"""``[p]ai moderation``: a member's input and the model's output checked by an OpenAI-compatible
moderation endpoint and/or the server's blocked words; refuse with a notice, or answer and report
to a mod-log channel with a jump link. An endpoint that is down follows the admin's choice
(``outage open|closed``) and is noted in ``[p]ai diag``; it never blocks chat silently.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.reply import NO_MENTIONS
from ...engine.errors import InvalidValue
from ...engine.privacy.moderation import (
    ACTIONS,
    CATEGORIES,
    CLOSED,
    OPEN,
    REFUSE,
    REPORT,
    ModerationRefusal,
    ModerationSettings,
    Verdict,
    parse_threshold,
)
from ...engine.privacy.wordlist import BlockedWords
from ...i18n import _
from ..common import NotAllowed, conversation_key, is_server_admin, reply
from ..group import AIGroup

NO_WORDS = ("off", "none")


def _categories(verdict: Verdict) -> str:
    return ", ".join(c.replace("words:", _("blocked word ")) for c in verdict.categories)


class ModerationMixin(MixinMeta):
    async def moderation_load(self) -> None:
        for guild_id, data in (await self.config.all_guilds()).items():
            if data.get("moderation"):
                try:
                    self.privacy.set_moderation(guild_id, data["moderation"])
                except InvalidValue:
                    pass  # an old pattern no longer accepted: the server sees it in `show`

    async def _moderation_edit(self, ctx: commands.Context, change) -> ModerationSettings:
        if ctx.guild is None:
            raise InvalidValue(_("Moderation is set per server: run this in the server."))
        if not await is_server_admin(ctx):
            raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
        data = dict(await self.config.guild(ctx.guild).moderation())
        change(data)
        settings = ModerationSettings.from_json(data)  # refuses a broken value before storing
        await self.config.guild(ctx.guild).moderation.set(data)
        self.privacy.set_moderation(ctx.guild.id, data)
        return settings

    # -- the check on the chat path ---------------------------------------------------------------

    async def moderate(
        self,
        *,
        author: discord.abc.User,
        channel: discord.abc.Messageable,
        text: str,
        images: Sequence[str] = (),
        output: bool = False,
        jump_url: Optional[str] = None,
    ) -> Optional[str]:
        """None to go on; else the notice that replaces the input's answer (or the output).
        With the ``report`` action the text goes on and the mod-log gets a report."""
        guild = getattr(channel, "guild", None)
        settings = self.privacy.moderation_settings(guild.id if guild else None)
        if not settings.active or (output and not settings.check_output):
            return None
        api_key = None
        endpoint = self.settings.endpoints.get(settings.endpoint or "")
        if endpoint is not None and endpoint.token_service:
            api_key = await self._api_key(endpoint.token_service)
        if settings.endpoint and endpoint is None:
            verdict = Verdict(settings.on_outage == CLOSED, outage=True, detail="moderation endpoint removed")
        else:
            settings_for_call = settings
            if endpoint is not None:
                settings_for_call = ModerationSettings(**{**settings.__dict__, "endpoint": endpoint.base_url})
            verdict = await self.privacy.moderation.check(settings_for_call, text, images=images, api_key=api_key)
        if verdict.outage:
            self.engine.errors.record(
                "moderation_unavailable",
                _("The moderation endpoint did not answer; messages were {what}.").format(
                    what=_("refused") if settings.on_outage == CLOSED else _("let through unchecked")
                ),
                verdict.detail,
                guild.id if guild else None,
            )
            if not verdict.flagged:
                return None
            return _("⚠️ Moderation is unavailable right now and this server refuses unchecked messages. Try again later.")
        if not verdict.flagged:
            return None
        if settings.action == REPORT:
            await self._report(settings, author, channel, verdict, output, jump_url)
            return None
        await self._report(settings, author, channel, verdict, output, jump_url)
        if output:
            return _("⚠️ The answer was withheld by this server's moderation ({categories}).").format(
                categories=_categories(verdict)
            )
        return _("⚠️ Your message was not sent to the assistant: this server's moderation flagged it ({categories}).").format(
            categories=_categories(verdict)
        )

    async def moderate_input(self, ctx: commands.Context, text: str, images: Sequence[Any] = ()) -> None:
        """Refuse a member's message the server's moderation flags (with a notice)."""
        notice = await self.moderate(
            author=ctx.author,
            channel=ctx.channel,
            text=text,
            images=[getattr(image, "url", image) for image in images],
            jump_url=ctx.message.jump_url if ctx.message is not None and ctx.interaction is None else None,
        )
        if notice is not None:
            raise ModerationRefusal(notice)

    async def moderate_answer(self, ctx: commands.Context, streamer: Any) -> None:
        """Check the finished answer; a flagged one is replaced by a notice and not remembered."""
        messages = streamer.messages
        if not messages or not streamer.text.strip():
            return
        notice = await self.moderate(
            author=ctx.author,
            channel=ctx.channel,
            text=streamer.text,
            output=True,
            jump_url=getattr(messages[0], "jump_url", None),
        )
        if notice is None:
            return
        await messages[0].edit(content=notice, allowed_mentions=NO_MENTIONS)
        for message in messages[1:]:
            try:
                await message.delete()
            except (AttributeError, discord.HTTPException):
                await message.edit(content="…", allowed_mentions=NO_MENTIONS)
        self.memory.undo(conversation_key(ctx.channel), ctx.author.id)  # a withheld answer is not kept

    async def _report(
        self,
        settings: ModerationSettings,
        author: discord.abc.User,
        channel: discord.abc.Messageable,
        verdict: Verdict,
        output: bool,
        jump_url: Optional[str],
    ) -> None:
        guild = getattr(channel, "guild", None)
        log_channel = guild.get_channel(settings.log_channel) if guild and settings.log_channel else None
        if log_channel is None:
            return
        what = _("The assistant's answer to {member}") if output else _("A message of {member}")
        text = _("🚩 {what} in {channel} was flagged ({categories}); action: {action}.").format(
            what=what.format(member=author.mention),
            channel=getattr(channel, "mention", "?"),
            categories=_categories(verdict),
            action=_("refused") if settings.action == REFUSE else _("answered"),
        )
        if jump_url:
            text += "\n" + jump_url
        try:
            await log_channel.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            self.engine.errors.record(
                "moderation_log", _("Could not post to the moderation log channel."), str(exc), guild.id
            )

    # -- commands ---------------------------------------------------------------------------------

    @AIGroup.ai.group(name="moderation", with_app_command=False)
    @commands.guild_only()
    async def ai_moderation(self, ctx: commands.Context) -> None:
        """Server admins: check what members send and what the assistant answers."""

    @ai_moderation.command(name="show")
    async def ai_moderation_show(self, ctx: commands.Context) -> None:
        """This server's moderation settings."""
        data: Dict[str, Any] = await self.config.guild(ctx.guild).moderation()
        settings = ModerationSettings.from_json(data)
        none = _("none")
        log_channel = ctx.guild.get_channel(settings.log_channel) if settings.log_channel else None
        lines = [
            _("**Endpoint:** {endpoint} (model `{model}`)").format(
                endpoint=f"`{settings.endpoint}`" if settings.endpoint else _("off"), model=settings.model
            ),
            _("**Thresholds:** {thresholds}").format(
                thresholds=", ".join(f"{k} ≥ {v:g}" for k, v in sorted(settings.thresholds.items()))
                or _("the endpoint's own verdict")
            ),
            _("**Blocked words:** {count}").format(count=len(settings.words.patterns)),
            _("**Action:** {action}").format(
                action=_("refuse with a notice") if settings.action == REFUSE else _("answer and report")
            ),
            _("**Mod-log channel:** {channel}").format(channel=log_channel.mention if log_channel else none),
            _("**When the endpoint is down:** {choice}").format(
                choice=_("let messages through (noted in ai diag)")
                if settings.on_outage == OPEN
                else _("refuse messages with a notice")
            ),
        ]
        await reply(ctx, "\n".join(lines))

    @ai_moderation.command(name="endpoint")
    async def ai_moderation_endpoint(self, ctx: commands.Context, endpoint: str, model: Optional[str] = None) -> None:
        """Use one of the owner's endpoints (see `ai provider list`) for moderation, or `off`."""
        name = endpoint.strip()
        if name.lower() in NO_WORDS:
            name = ""
        elif name not in self.settings.endpoints:
            raise InvalidValue(
                _("No endpoint is named `{name}`. Known: {names}.").format(
                    name=name, names=", ".join(f"`{n}`" for n in sorted(self.settings.endpoints))
                )
            )

        def change(data: Dict[str, Any]) -> None:
            data["endpoint"] = name or None
            if model:
                data["model"] = model.strip()

        settings = await self._moderation_edit(ctx, change)
        await reply(
            ctx,
            _("Moderation now checks with `{endpoint}` (model `{model}`).").format(endpoint=name, model=settings.model)
            if name
            else _("The moderation endpoint is off."),
        )

    @ai_moderation.command(name="threshold")
    async def ai_moderation_threshold(self, ctx: commands.Context, category: str, score: str) -> None:
        """Flag a category from this score (0-1), or `default` for the endpoint's own verdict."""
        name, value = parse_threshold(category, score)

        def change(data: Dict[str, Any]) -> None:
            thresholds = dict(data.get("thresholds") or {})
            if value is None:
                thresholds.pop(name, None)
            else:
                thresholds[name] = value
            data["thresholds"] = thresholds

        await self._moderation_edit(ctx, change)
        await reply(
            ctx,
            _("`{category}` is flagged from a score of {score}.").format(category=name, score=f"{value:g}")
            if value is not None
            else _("`{category}` follows the endpoint's own verdict.").format(category=name),
        )

    @ai_moderation.command(name="words")
    async def ai_moderation_words(self, ctx: commands.Context, action: str, *, words: str = "") -> None:
        """`add`, `remove`, `list` or `clear` blocked words (`*` = any letters within a word)."""
        action = action.strip().lower()
        given = [w for w in (p.strip() for p in words.replace("\n", ",").split(",")) if w]
        if action == "list":
            current = self.privacy.moderation_settings(ctx.guild.id).words.patterns
            if not await is_server_admin(ctx):
                raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))
            await reply(
                ctx,
                (_("**Blocked words:** {words}").format(words=", ".join(f"`{w}`" for w in current)))
                if current
                else _("No blocked words."),
                ephemeral=True,
            )
            return
        if action not in ("add", "remove", "clear"):
            raise InvalidValue(_("Use `add`, `remove`, `list` or `clear`, then words separated by commas."))
        if action != "clear" and not given:
            raise InvalidValue(_("Give the words, separated by commas: `ai moderation words add spam*, scam`."))
        result: List[str] = []

        def change(data: Dict[str, Any]) -> None:
            current = BlockedWords(data.get("words") or ())
            if action == "add":
                updated = current.with_added(given)
                result.extend(p for p in updated.patterns if p not in current.patterns)
            elif action == "remove":
                updated, removed = current.without(given)
                result.extend(removed)
            else:
                updated = BlockedWords()
            data["words"] = list(updated.patterns)

        settings = await self._moderation_edit(ctx, change)
        await reply(ctx, _("{count} blocked words now.").format(count=len(settings.words.patterns)))

    @ai_moderation.command(name="action")
    async def ai_moderation_action(self, ctx: commands.Context, action: str) -> None:
        """`refuse` flagged messages with a notice, or `report` them to the mod-log and answer."""
        chosen = action.strip().lower()
        if chosen not in ACTIONS:
            raise InvalidValue(_("The action is `refuse` or `report`."))
        await self._moderation_edit(ctx, lambda data: data.update(action=chosen))
        await reply(
            ctx,
            _("Flagged messages are refused with a notice.")
            if chosen == REFUSE
            else _("Flagged messages are answered and reported to the mod-log channel."),
        )

    @ai_moderation.command(name="log")
    async def ai_moderation_log(self, ctx: commands.Context, channel: str) -> None:
        """The channel that gets reports (with a jump link), or `off`."""
        target: Optional[discord.TextChannel] = None
        if channel.strip().lower() not in NO_WORDS:
            target = await commands.TextChannelConverter().convert(ctx, channel)
        await self._moderation_edit(ctx, lambda data: data.update(log_channel=target.id if target else None))
        await reply(
            ctx,
            _("Reports go to {channel}.").format(channel=target.mention) if target else _("Reports are off."),
        )

    @ai_moderation.command(name="outage")
    async def ai_moderation_outage(self, ctx: commands.Context, choice: str) -> None:
        """When the endpoint is down: `open` lets messages through (noted in ai diag), `closed` refuses them."""
        chosen = choice.strip().lower()
        if chosen not in (OPEN, CLOSED):
            raise InvalidValue(_("Choose `open` (let messages through) or `closed` (refuse them)."))
        await self._moderation_edit(ctx, lambda data: data.update(on_outage=chosen))
        await reply(
            ctx,
            _("While the endpoint is down, messages go through unchecked (noted in `ai diag`).")
            if chosen == OPEN
            else _("While the endpoint is down, messages are refused with a notice."),
        )


__all__ = ["ModerationMixin", "ModerationRefusal", "CATEGORIES"]
