"""The channel assistant's plumbing: its stores and clock, the background tick that runs
schedules and archives idle threads, and answering into a channel without a command context."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import discord

from ...abc import MixinMeta
from ...delivery.reply import NO_MENTIONS, ReplyStreamer, stream_reply
from ...delivery.webhooks import persona_sender
from ...engine.channels.admission import admit_server
from ...engine.channels.autoanswer import RecentQuestions
from ...engine.channels.clock import Clock, SystemClock
from ...engine.channels.summaries import ChannelCooldown
from ...engine.channels.threads import ThreadTracker
from ...engine.chat import ChatRequest
from ...engine.errors import SkynetError
from ...engine.events import Usage
from ...engine.governance.governor import Admission, Ticket
from ...engine.periodic import PeriodicFlush
from ...engine.providers.completion import complete
from ...engine.settings import ResolvedSettings
from ...stores.usage import global_scope, guild_scope, member_scope
from ..common import conversation_key, resolve_here, settings_channel_id
from .store import ChannelStore

log = logging.getLogger("red.skynet.channels")
TICK_SECONDS = 30.0
Send = Callable[[str, bool], Awaitable[discord.Message]]


class ChannelsCore(MixinMeta):
    channels: ChannelStore
    channels_clock: Clock
    threads_open: ThreadTracker
    tldr_cooldown: ChannelCooldown
    recent_questions: RecentQuestions

    def init_channels(self) -> None:
        self.channels = ChannelStore(self.config)
        self.channels_clock = SystemClock()  # tests put a ManualClock here
        self.threads_open = ThreadTracker()
        self.tldr_cooldown = ChannelCooldown(self.channels_clock)
        self.recent_questions = RecentQuestions()
        self._channels_tick = PeriodicFlush(self.channels_tick, "channels", on_error=self._tick_failed)
        self._channels_running: set = set()

    def set_channels_clock(self, clock: Clock) -> None:
        self.channels_clock = clock
        self.tldr_cooldown = ChannelCooldown(clock, self.tldr_cooldown.seconds)

    async def channels_load(self) -> None:
        await self.channels.load()
        now = self.channels_clock.now()
        for guild_id in self.channels.all_guild_ids():
            for thread_id, parent in self.channels.open_threads(guild_id).items():
                minutes = self.channels.threads_in(int(parent), guild_id).archive_minutes
                self.threads_open.opened(int(thread_id), now, minutes * 60)
        self._channels_tick.start(TICK_SECONDS)

    async def channels_unload(self) -> None:
        await self._channels_tick.stop()  # one last tick: nothing due is left behind
        for task in list(self._channels_running):
            task.cancel()

    def _tick_failed(self) -> None:
        log.exception("The channel assistant's tick failed; trying again in %s s", TICK_SECONDS)

    async def channels_tick(self) -> None:
        """Run what is due now: scheduled prompts and reminders, then archive idle threads."""
        await self.run_due_schedules()
        await self.archive_idle_threads()

    def spawn_channels(self, coro: Awaitable[Any], name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=f"channels:{name}")
        self._channels_running.add(task)
        task.add_done_callback(self._channels_running.discard)
        return task

    # -- answering without a command

    def server_request(self, guild: discord.Guild, channel: discord.abc.Messageable, text: str,
                       settings: Optional[ResolvedSettings] = None) -> ChatRequest:
        """A request made by the server itself (a schedule): counted in the server's usage only."""
        me = guild.me
        return ChatRequest(
            text=text,
            user_id=me.id,
            user_name=me.display_name,
            conversation=conversation_key(channel),
            settings=settings or self.apply_persona(me, channel, resolve_here(self.settings, channel)),
            usage_scopes=(global_scope(), guild_scope(guild.id)),
            guild_id=guild.id,
            channel_id=settings_channel_id(channel),
        )

    def admit_for_server(self, guild_id: int, request: ChatRequest) -> Ticket:
        max_tokens = request.settings.params.get("max_tokens")
        admission = Admission(
            guild_id=guild_id,
            user_id=0,
            role_ids=(),
            model=request.settings.model.name,
            prompt_tokens=self.prompt_estimate(request),
            max_tokens=int(max_tokens) if max_tokens else None,
        )
        return admit_server(self.governor, self.governance.rules(guild_id), admission)

    async def stream_into(self, channel: discord.abc.Messageable, request: ChatRequest, ticket: Ticket,
                          send: Send, prefix: str, member: Optional[discord.abc.User] = None) -> None:
        """Stream the engine's answer to ``request`` with ``send`` (the first message and the
        continuations), as ``ai chat`` does."""
        with self.inflight.track():
            try:
                streamer = ReplyStreamer(send, channel.id, self.pacer, typing=channel.typing)
                events = ticket.track(self.engine.run(request))
                if request.own_key is not None and member is not None:
                    events = self.guard_own_key(request, events, member)
                await stream_reply(events, streamer, prefix=prefix)
            finally:
                ticket.settle(None)

    async def member_answer(self, author: discord.Member, channel: discord.abc.Messageable, text: str,
                            reference: Optional[discord.Message] = None) -> None:
        """Answer ``author`` in ``channel`` as ``ai chat`` would (their budget, the channel's persona
        and window), without a command context: in a thread the assistant opened, a forum post."""
        request = self.chat_request(author, channel, text)
        ticket = self.admit(author, channel, request)
        send = self.plain_send(channel, reference)
        active = self.active_persona(author, channel)
        persona = active.persona if active else None
        if persona is not None and (persona.display_name or persona.avatar_url):
            send = persona_sender(send, channel, self.webhooks, name=persona.display_name or persona.name,
                                  avatar_url=persona.avatar_url, use_webhook=True)
        guild = getattr(channel, "guild", None)
        prefix = self._prefixes.get(guild.id if guild else 0, self._default_prefix)
        await self.stream_into(channel, request, ticket, send, prefix, member=author)

    @staticmethod
    def plain_send(channel: discord.abc.Messageable, reference: Optional[discord.Message] = None) -> Send:
        async def send(content: str, first: bool) -> discord.Message:
            if first and reference is not None:
                return await channel.send(content, reference=reference.to_reference(fail_if_not_exists=False),
                                          mention_author=False, allowed_mentions=NO_MENTIONS)
            return await channel.send(content, allowed_mentions=NO_MENTIONS)

        return send

    async def complete_text(self, settings: ResolvedSettings, messages: List[Dict[str, Any]],
                            scopes: Tuple, charged: List[Usage]) -> str:
        """One whole answer from the model in ``settings`` (no streaming to Discord): its usage is
        recorded in ``scopes`` and appended to ``charged`` for the caller's ticket."""
        model = settings.model
        try:
            provider = await self.providers.provider(model.endpoint)
            text, reported = await complete(provider, model.name, messages, settings.params)
        except SkynetError:
            raise
        except Exception as exc:
            failure = self.providers.explain(exc, model.endpoint, model.name)
            log.warning("Channel assistant request failed (%s): %s", failure.kind, failure.detail)
            raise SkynetError(failure.message) from None
        counter = self.engine.counter
        if reported is not None:
            usage = Usage(reported.prompt_tokens, reported.completion_tokens, False,
                          self.engine.prices.cost(model.name, reported.prompt_tokens, reported.completion_tokens))
        else:
            prompt, answer = counter.count_messages(messages), counter.count(text)
            usage = Usage(prompt, answer, True, self.engine.prices.cost(model.name, prompt, answer))
        self.usage.ledger.record(scopes, usage)
        charged.append(usage)
        return text

    def member_scopes(self, member: discord.abc.User, guild: discord.Guild) -> Tuple:
        scopes = (global_scope(), guild_scope(guild.id), member_scope(guild.id, member.id))
        if not self.memory_service.stores_turns(member.id):
            scopes = scopes[:-1]
        return scopes

    @staticmethod
    def total_usage(charged: List[Usage]) -> Optional[Usage]:
        if not charged:
            return None
        costs = [u.cost_usd for u in charged]
        return Usage(sum(u.prompt_tokens for u in charged), sum(u.completion_tokens for u in charged),
                     any(u.estimated for u in charged), None if None in costs else sum(costs))
