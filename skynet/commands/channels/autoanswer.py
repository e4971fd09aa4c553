"""``[p]ai autoanswer``: members' support questions answered from the server's documents."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import List, Optional

import discord
from redbot.core import commands

from ...delivery.reply import NO_MENTIONS
from ...engine.channels.admission import admit_server
from ...engine.channels.autoanswer import (
    PASSAGES,
    Asked,
    Passage,
    answer_messages,
    candidate,
    decide,
    declined,
    rescore,
    units_of,
)
from ...engine.errors import InvalidValue, SkynetError
from ...engine.governance.errors import GovernanceRefusal
from ...engine.governance.governor import Admission
from ...engine.governance.numbers import parse_number
from ...engine.memory import recall as scoping
from ...i18n import _
from ..common import reply, resolve_here, settings_channel_id, writable_scope
from ..group import AIGroup
from ..targets import find_channel, find_role
from .core import ChannelsCore

log = logging.getLogger("red.skynet.channels")
ANSWER_MAX_TOKENS = 500


class HelpfulButton(discord.ui.DynamicItem[discord.ui.Button], template=r"skynet:helpful:(?P<vote>[yn])"):
    """"Was this helpful?" under an auto-answer. A dynamic item: it keeps working after a restart
    and costs no memory per message."""

    def __init__(self, vote: str) -> None:
        super().__init__(discord.ui.Button(label="👍" if vote == "y" else "👎", style=discord.ButtonStyle.secondary,
                                           custom_id=f"skynet:helpful:{vote}"))
        self.vote = vote

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "HelpfulButton":
        return cls(match["vote"])

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog("Skynet")
        if cog is not None and interaction.guild is not None and interaction.message is not None:
            cog.count_helpful(interaction.guild.id, interaction.message.id, interaction.user.id, self.vote == "y")
        await interaction.response.send_message(_("Thanks for telling us."), ephemeral=True)


def helpful_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HelpfulButton("y"))
    view.add_item(HelpfulButton("n"))
    return view


class AutoAnswerMixin(ChannelsCore):
    async def maybe_autoanswer(self, message: discord.Message) -> None:
        guild = message.guild
        rules = self.channels.autoanswer(guild.id)
        if not rules.channels:
            return
        me = guild.me
        replied = message.reference.resolved if message.reference else None
        asked = Asked(
            guild_id=guild.id,
            channel_id=settings_channel_id(message.channel),
            text=message.content,
            role_ids=tuple(r.id for r in getattr(message.author, "roles", ())),
            addressed_to_bot=me.id in message.raw_mentions
            or (isinstance(replied, discord.Message) and replied.author.id == me.id),
        )
        if candidate(rules, asked) is not None or not await self._may_listen(message):
            return
        try:
            passages, vector = await self.nearest_passages(guild.id, message.content)
        except SkynetError as unavailable:
            log.info("Auto-answer skipped: %s", unavailable.message)
            return
        verdict = decide(rules, passages)
        now = self.channels_clock.now()
        if not verdict.acts or self.recent_questions.seen(message.channel.id, message.content, vector, now, rules.window):
            return
        if not self.listener.claim(message.id):
            return  # the listener answers it already
        self.recent_questions.add(message.channel.id, message.content, vector, now)
        try:
            answer = await self.documents_answer(message, verdict.passages, dry_run=verdict.action == "dry_run")
        except (GovernanceRefusal, SkynetError) as refused:
            log.info("Auto-answer not sent in %s: %s", message.channel.id, refused.message)
            return
        if declined(answer):
            return
        best = verdict.passages[0].similarity
        sources = ", ".join(dict.fromkeys(f"{p.document} › {p.section}" for p in verdict.passages))
        footer = _("-# 📄 Answered from the server's documents ({sources}; similarity {score}).").format(
            sources=sources, score=f"{best:.2f}")
        if verdict.action == "dry_run":
            target = guild.get_channel(rules.dry_run_channel)
            if target is None:
                return
            text = _("🧪 Would answer {link} (similarity {score}):").format(link=message.jump_url, score=f"{best:.2f}")
            await self.pacer.wait(target.id)
            await target.send(f"{text}\n>>> {answer}"[:1990], allowed_mentions=NO_MENTIONS)
            return
        view = helpful_view() if rules.helpful_button else None
        content = f"{answer}\n{footer}"
        await self.pacer.wait(message.channel.id)
        await message.reply(content[:2000], mention_author=False, allowed_mentions=NO_MENTIONS,
                            **({"view": view} if view else {}))
        if view is not None:
            view.stop()  # the dynamic buttons answer clicks; no view kept per message

    def count_helpful(self, guild_id: int, message_id: int, user_id: int, helpful: bool) -> None:
        """One vote per member per answer, counted per server (shown by `ai autoanswer show`)."""
        voted = self.__dict__.setdefault("_helpful_voters", set())
        if (message_id, user_id) in voted:
            return
        if len(voted) > 100_000:
            voted.clear()
        voted.add((message_id, user_id))
        counts = self.__dict__.setdefault("_helpful_counts", {}).setdefault(guild_id, {})
        key = "helpful" if helpful else "not_helpful"
        counts[key] = counts.get(key, 0) + 1

    async def nearest_passages(self, guild_id: int, question: str):
        """The passages nearest to ``question``, each scored by its closest sentence, and the
        question's vector (one embeddings call for the question, one for the passages' sentences)."""
        service = self.memory_service
        store, model = await service._ready()
        [vector] = await service._embed([question])
        records = await store.query(model, scoping.doc_place(guild_id), vector, None, PASSAGES)
        if not records:
            return [], vector
        candidates = [(r.meta.get("doc_name", "document"), r.meta.get("section", "text"), r.text) for r in records]
        units = [units_of(section, text) for _doc, section, text in candidates]
        flat = await service._embed([u for group in units for u in group])
        vectors, start = [], 0
        for group in units:
            vectors.append(flat[start : start + len(group)])
            start += len(group)
        return rescore(vector, candidates, vectors), vector

    async def documents_answer(self, message: discord.Message, passages: List[Passage], *, dry_run: bool) -> str:
        """The model's answer from ``passages`` (NO_ANSWER when they don't answer it after all):
        on the member's budget, or the server's for a dry run."""
        channel, author, guild = message.channel, message.author, message.guild
        settings = resolve_here(self.settings, channel)
        messages = answer_messages(message.content, passages)
        settings = replace(settings, params={**settings.params, "max_tokens": ANSWER_MAX_TOKENS})
        prompt_tokens = self.engine.counter.count_messages(messages)
        if dry_run:
            admission = Admission(guild.id, 0, (), settings.model.name, prompt_tokens, ANSWER_MAX_TOKENS)
            ticket = admit_server(self.governor, self.governance.rules(guild.id), admission)
            scopes = self.member_scopes(author, guild)[:2]
        else:
            scope_id, role_ids = guild.id, tuple(r.id for r in getattr(author, "roles", ()))
            admission = Admission(scope_id, author.id, role_ids, settings.model.name, prompt_tokens,
                                  ANSWER_MAX_TOKENS, bypass=author.id in self.bot.owner_ids)
            ticket = self.governor.admit(self.governance.rules(scope_id), admission)
            scopes = self.member_scopes(author, guild)
        charged: list = []
        try:
            return await self.complete_text(settings, messages, scopes, charged)
        finally:
            ticket.settle(self.total_usage(charged))

    # -- commands

    @AIGroup.ai.group(name="autoanswer", with_app_command=False)
    @commands.guild_only()
    async def ai_autoanswer(self, ctx: commands.Context) -> None:
        """Answer members' questions from the server's documents (`[p]ai docs`) without being asked."""

    async def _edit_autoanswer(self, ctx: commands.Context, edit) -> None:
        await writable_scope(ctx, "server")

        def apply(data):
            edit(data.setdefault("autoanswer", {}))

        await self.channels.update(ctx.guild.id, apply)

    @ai_autoanswer.command(name="channel")
    async def ai_autoanswer_channel(self, ctx: commands.Context, state: str, channel: Optional[str] = None) -> None:
        """`on` or `off` in a channel (default: here). Questions there that the documents answer get an answer."""
        if state not in ("on", "off"):
            raise InvalidValue(_("Say `on` or `off`, e.g. `[p]ai autoanswer channel on #help`."))
        target = find_channel(ctx.guild, channel) if channel else ctx.channel
        cid = settings_channel_id(target)

        def edit(data):
            channels = set(data.get("channels", ()))
            (channels.add if state == "on" else channels.discard)(cid)
            data["channels"] = sorted(channels)

        await self._edit_autoanswer(ctx, edit)
        text = _("Auto-answer is on in {channel}.") if state == "on" else _("Auto-answer is off in {channel}.")
        await reply(ctx, text.format(channel=f"<#{cid}>"))

    @ai_autoanswer.command(name="threshold")
    async def ai_autoanswer_threshold(self, ctx: commands.Context, value: str) -> None:
        """How close a document must be to the question, 0.3 to 0.95 (default 0.55; higher answers less, more surely)."""
        number = parse_number(value, what=_("The threshold"), minimum=0.3, maximum=0.95)
        await self._edit_autoanswer(ctx, lambda data: data.__setitem__("threshold", number))
        await reply(ctx, _("Auto-answer threshold set to {value}.").format(value=f"{number:.2f}"))

    @ai_autoanswer.command(name="ignore")
    async def ai_autoanswer_ignore(self, ctx: commands.Context, action: str, role: str) -> None:
        """`add` or `remove` a role whose members are never auto-answered (staff, for instance)."""
        if action not in ("add", "remove"):
            raise InvalidValue(_("Say `add` or `remove`, e.g. `[p]ai autoanswer ignore add @Staff`."))
        found = find_role(ctx.guild, role)

        def edit(data):
            roles = set(data.get("ignored_roles", ()))
            (roles.add if action == "add" else roles.discard)(found.id)
            data["ignored_roles"] = sorted(roles)

        await self._edit_autoanswer(ctx, edit)
        await reply(ctx, _("Ignored roles updated."))

    @ai_autoanswer.command(name="button")
    async def ai_autoanswer_button(self, ctx: commands.Context, state: str) -> None:
        """`on` or `off`: a "was this helpful?" button under each auto-answer."""
        if state not in ("on", "off"):
            raise InvalidValue(_("Say `on` or `off`."))
        await self._edit_autoanswer(ctx, lambda data: data.__setitem__("helpful_button", state == "on"))
        await reply(ctx, _("The helpful button is {state}.").format(state=state))

    @ai_autoanswer.command(name="dryrun")
    async def ai_autoanswer_dryrun(self, ctx: commands.Context, channel: str) -> None:
        """Post what would be answered to a mods' channel instead of answering (`off` to answer for real)."""
        if channel == "off":
            await self._edit_autoanswer(ctx, lambda data: data.pop("dry_run_channel", None))
            await reply(ctx, _("Dry run is off: questions are answered."))
            return
        target = find_channel(ctx.guild, channel)
        await self._edit_autoanswer(ctx, lambda data: data.__setitem__("dry_run_channel", target.id))
        await reply(ctx, _("Dry run: what would be answered is posted in {channel}.").format(channel=target.mention))

    @ai_autoanswer.command(name="show")
    async def ai_autoanswer_show(self, ctx: commands.Context) -> None:
        """The auto-answer settings and the helpful votes."""
        rules = self.channels.autoanswer(ctx.guild.id)
        votes = self.__dict__.get("_helpful_counts", {}).get(ctx.guild.id, {})
        lines = [
            _("**Channels:** {channels}").format(channels=", ".join(f"<#{c}>" for c in sorted(rules.channels)) or _("none")),
            _("**Threshold:** {value}").format(value=f"{rules.threshold:.2f}"),
            _("**Ignored roles:** {roles}").format(roles=", ".join(f"<@&{r}>" for r in sorted(rules.ignored_roles)) or _("none")),
            _("**Helpful button:** {state} ({yes} 👍, {no} 👎)").format(
                state=_("on") if rules.helpful_button else _("off"), yes=votes.get("helpful", 0), no=votes.get("not_helpful", 0)),
            _("**Dry run:** {channel}").format(channel=f"<#{rules.dry_run_channel}>" if rules.dry_run_channel else _("off")),
        ]
        await reply(ctx, "\n".join(lines))
