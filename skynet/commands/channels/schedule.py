"""``[p]ai schedule``: prompts the assistant answers in a channel at set times, and the
``remind_me`` tool for members' reminders."""

from __future__ import annotations

import logging
import shlex
from dataclasses import replace
from typing import Any, Dict

import discord
from redbot.core import commands

from ...delivery.pacing import FIRST
from ...delivery.webhooks import persona_sender
from ...engine.channels.schedules import REMINDER, Schedule, parse_moment, parse_rule
from ...engine.errors import InvalidValue, SkynetError
from ...engine.governance.errors import GovernanceRefusal
from ...engine.params import SYSTEM_PROMPT
from ...engine.personas import render
from ...engine.tools.registry import Tool, ToolContext
from ...i18n import _
from ..common import reply, resolve_here, writable_scope
from ..group import AIGroup
from ..targets import find_channel
from .core import ChannelsCore

log = logging.getLogger("red.skynet.channels")

REMIND_SCHEMA = {
    "type": "object",
    "properties": {
        "when": {"type": "string", "description": "When: 'in 2h', 'in 30m', 'tomorrow 09:00', '18:30' or "
                                                  "'2026-12-24 18:00' (the server's local time)."},
        "text": {"type": "string", "description": "What to remind the member of, in their words."},
    },
    "required": ["when", "text"],
}


def describe(schedule: Schedule) -> str:
    state = _("paused") if schedule.paused else _("next {when}").format(when=f"<t:{int(schedule.next_run)}:R>")
    persona = _(" · persona `{name}`").format(name=schedule.persona) if schedule.persona else ""
    prompt = schedule.prompt if len(schedule.prompt) <= 80 else schedule.prompt[:79] + "…"
    return f"`{schedule.id}` <#{schedule.channel_id}> `{schedule.rule}` ({state}){persona}: {prompt}"


class ScheduleMixin(ChannelsCore):
    def timezone_of(self, guild_id: int) -> str:
        return self.personas.timezone(guild_id)

    def remind_tool(self) -> Tool:
        """The model's ``remind_me`` tool: a reminder posted in the channel (off until enabled)."""

        async def handler(arguments: Dict[str, Any], ctx: ToolContext) -> str:
            if ctx.guild_id is None:
                return "Reminders work in servers only."
            if not self.privacy.gate.may_store(ctx.user_id, guild_id=ctx.guild_id, channel_id=ctx.channel_id):
                return "Not set: nothing may be stored for this member here (incognito, consent or an excluded channel)."
            try:
                channel_id = int(ctx.conversation.split(":")[1]) if ctx.conversation.startswith("channel:") else ctx.channel_id
                now = self.channels_clock.now()
                when = parse_moment(str(arguments.get("when", "")), now, self.timezone_of(ctx.guild_id))
                reminder = self.channels.book.add_reminder(guild_id=ctx.guild_id, channel_id=channel_id, user_id=ctx.user_id,
                                                           text=str(arguments.get("text", "")), when=when, now=now)
            except SkynetError as refused:
                return f"Not set: {refused.message}"
            await self.channels.save_schedules(ctx.guild_id)
            return f"Reminder {reminder.id} set for <t:{int(when)}:F> (tell the member this time as written)."

        return Tool(
            name="remind_me",
            description="Set a reminder for the member who is talking: it is posted in this channel at the given time.",
            parameters=REMIND_SCHEMA,
            handler=handler,
            timeout=10.0,
            status=lambda arguments: _("⏰ Setting a reminder…"),
            summary=lambda: _("Sets a reminder for the member, posted in the channel at the time they ask."),
        )

    # -- the tick

    async def run_due_schedules(self) -> None:
        now = self.channels_clock.now()
        due, skipped = self.channels.book.due(now, self.timezone_of)
        for schedule in skipped:
            log.info("Schedule %s in server %s missed its slot by more than the catch-up window; skipped",
                     schedule.id, schedule.guild_id)
        for guild_id in sorted({d.schedule.guild_id for d in due} | {s.guild_id for s in skipped}):
            await self.channels.save_schedules(guild_id)  # claimed before running: a restart won't repeat them
        for item in due:
            self.spawn_channels(self.run_schedule(item.schedule), f"schedule:{item.schedule.id}")

    async def run_schedule(self, schedule: Schedule) -> None:
        guild = self.bot.get_guild(schedule.guild_id)
        channel = guild.get_channel_or_thread(schedule.channel_id) if guild else None
        if channel is None or guild.me is None:
            log.info("Schedule %s: its channel is gone", schedule.id)
            return
        if not channel.permissions_for(guild.me).send_messages:
            return
        if schedule.kind == REMINDER:
            member = guild.get_member(schedule.author_id)
            if member is None:
                return
            await self.pacer.acquire(channel.id, FIRST)  # a message of its own, not a progress edit
            await channel.send(
                _("⏰ {member}, you asked me to remind you: {text}").format(member=member.mention, text=schedule.prompt),
                allowed_mentions=discord.AllowedMentions(users=[member], everyone=False, roles=False),
            )
            return
        try:
            await self.answer_schedule(guild, channel, schedule)
        except GovernanceRefusal as refusal:
            log.info("Schedule %s not run: %s", schedule.id, refusal.message)
        except SkynetError as failure:
            log.info("Schedule %s failed: %s", schedule.id, failure.message)

    async def answer_schedule(self, guild: discord.Guild, channel, schedule: Schedule) -> None:
        settings = resolve_here(self.settings, channel)
        persona = self.personas.find(guild.id, schedule.persona) if schedule.persona else None
        if persona is not None:
            settings = self.with_preset(settings, persona, "channel")
            variables = self.variables_here(guild.me, channel, settings, persona)
            settings = replace(settings, params={**settings.params, SYSTEM_PROMPT: render(persona.system_prompt, variables)})
        else:
            settings = self.apply_persona(guild.me, channel, settings)
            active = self.active_persona(guild.me, channel)
            persona = active.persona if active else None
        request = self.server_request(guild, channel, schedule.prompt, settings)
        ticket = self.admit_for_server(guild.id, request)
        send = self.plain_send(channel)
        if persona is not None and (persona.display_name or persona.avatar_url):
            send = persona_sender(send, channel, self.webhooks, name=persona.display_name or persona.name,
                                  avatar_url=persona.avatar_url, use_webhook=True)
        prefix = self._prefixes.get(guild.id, self._default_prefix)
        await self.stream_into(channel, request, ticket, send, prefix)

    # -- commands

    @AIGroup.ai.group(name="schedule", with_app_command=False)
    @commands.guild_only()
    async def ai_schedule(self, ctx: commands.Context) -> None:
        """Prompts the assistant answers in a channel at set times (server admins)."""

    @ai_schedule.command(name="add")
    async def ai_schedule_add(self, ctx: commands.Context, channel: str, *, when_and_prompt: str) -> None:
        """Schedule a prompt: `[p]ai schedule add #channel <when> <prompt>`.

        `<when>` is an interval in quotes, `"every 1d at 09:00"`, `"every 6h"`, `"every 1w at 18:00"`,
        or a cron expression in quotes, `"0 9 * * 1-5"` (weekdays at 09:00), in the server's time
        zone (`[p]ai timezone`). Add `persona:<name>` before the prompt to answer as a persona.
        Example: `[p]ai schedule add #general "every 1d at 09:00" Share a fun fact about space.`
        """
        await writable_scope(ctx, "server")
        target = find_channel(ctx.guild, channel)
        if not isinstance(target, (discord.TextChannel, discord.Thread)):
            raise InvalidValue(_("Schedules post in text channels and threads."))
        try:
            parts = shlex.split(when_and_prompt, posix=True)
        except ValueError:
            raise InvalidValue(_("A quote is not closed. Put the time in quotes: `\"every 1d at 09:00\"`.")) from None
        if len(parts) < 2:
            raise InvalidValue(_("Give the time and the prompt, e.g. `[p]ai schedule add #general \"every 1d at 09:00\" Share a fun fact.`"))
        rule = parse_rule(parts[0])
        rest = parts[1:]
        persona = None
        if rest[0].lower().startswith("persona:"):
            persona = rest.pop(0).split(":", 1)[1]
            if self.personas.find(ctx.guild.id, persona) is None:
                raise InvalidValue(_("There is no persona `{name}`; `[p]ai persona list` shows them.").format(name=persona[:40]))
        prompt = when_and_prompt.split(parts[0], 1)[-1].strip().strip('"').strip()
        if persona is not None:
            prompt = prompt.split(None, 1)[1] if len(prompt.split(None, 1)) > 1 else ""
        now = self.channels_clock.now()
        schedule = self.channels.book.add(guild_id=ctx.guild.id, channel_id=target.id, author_id=ctx.author.id,
                                          rule=rule, prompt=prompt, now=now, tz=self.timezone_of(ctx.guild.id),
                                          persona=persona)
        await self.channels.save_schedules(ctx.guild.id)
        await reply(ctx, _("Scheduled `{id}` in {channel}: `{rule}` ({zone}), first run {when}.").format(
            id=schedule.id, channel=target.mention, rule=schedule.rule, zone=self.timezone_of(ctx.guild.id),
            when=f"<t:{int(schedule.next_run)}:F>"))

    @ai_schedule.command(name="list")
    async def ai_schedule_list(self, ctx: commands.Context) -> None:
        """The server's scheduled prompts."""
        found = self.channels.book.in_guild(ctx.guild.id)
        if not found:
            await reply(ctx, _("No schedules here. Add one with `[p]ai schedule add`."))
            return
        await reply(ctx, _("Schedules ({zone}):").format(zone=self.timezone_of(ctx.guild.id)) + "\n"
                    + "\n".join(describe(s) for s in found))

    @ai_schedule.command(name="remove")
    async def ai_schedule_remove(self, ctx: commands.Context, schedule_id: str) -> None:
        """Delete a schedule."""
        await writable_scope(ctx, "server")
        schedule = self.channels.book.get(ctx.guild.id, schedule_id)
        self.channels.book.remove(schedule.id)
        await self.channels.save_schedules(ctx.guild.id)
        await reply(ctx, _("Schedule `{id}` removed.").format(id=schedule.id))

    @ai_schedule.command(name="pause")
    async def ai_schedule_pause(self, ctx: commands.Context, schedule_id: str, state: str = "on") -> None:
        """Pause a schedule (`off` resumes it; slots missed while paused are not run)."""
        await writable_scope(ctx, "server")
        if state not in ("on", "off"):
            raise InvalidValue(_("Say `on` to pause or `off` to resume."))
        schedule = self.channels.book.get(ctx.guild.id, schedule_id)
        updated = self.channels.book.set_paused(schedule, state == "on", self.channels_clock.now(),
                                                self.timezone_of(ctx.guild.id))
        await self.channels.save_schedules(ctx.guild.id)
        await reply(ctx, describe(updated))

    @ai_schedule.command(name="run")
    async def ai_schedule_run(self, ctx: commands.Context, schedule_id: str) -> None:
        """Run a schedule now (its next slot stays as it was)."""
        await writable_scope(ctx, "server")
        schedule = self.channels.book.get(ctx.guild.id, schedule_id)
        guild = ctx.guild
        channel = guild.get_channel_or_thread(schedule.channel_id)
        if channel is None:
            raise InvalidValue(_("That schedule's channel no longer exists; remove it with `[p]ai schedule remove`."))
        await self.answer_schedule(guild, channel, schedule)
