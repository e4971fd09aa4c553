"""Unload and reload as clean cuts: no request lost, nothing posted by the old instance later.

``[p]unload skynet`` / ``[p]reload skynet`` (see ``inflight.InFlight.cancel_all``):

* A reply already visible gets its final edit with the "restarted" note if the channel's
  allowance gives one within ``UNLOAD_GRACE`` seconds; then its streamer is aborted, so nothing
  of the old instance is sent or edited afterwards (it used to post for 20 s more).
* A request with nothing visible yet (waiting for the provider, or for the channel's 5-per-5 s
  allowance), and every request that reaches the cog while it is closing, is *handed over*: the
  list waits on the bot object for ``HANDOVER_WAIT`` seconds. An instance that loads meanwhile
  (a reload) takes it and answers those requests as if they had just been asked. If none does (an
  unload), the asks are told to ask again: one reply per channel (naming the members, without
  pinging), and a follow-up to each slash command, within ``TELL_LIMIT`` seconds; never later.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

import discord

from ..engine.i18n import _
from .pacing import FINAL, Pacer
from .reply import restarted_note

log = logging.getLogger("red.skynet.lifecycle")

UNLOAD_GRACE = 6.0  # seconds for visible replies to show their "restarted" note: one Discord window and a margin
HANDOVER_WAIT = 10.0  # seconds a reloaded instance has to take the unanswered requests (loading takes 1-2 s)
TELL_LIMIT = 10.0  # seconds to tell them to ask again when no instance took them
HANDOVER_ATTR = "_skynet_handover"  # on the bot: survives the reload of the cog's modules
PACER_ATTR = "_skynet_pacer"  # the old instance's pacer: Discord's windows don't restart with us
COG_NAME = "Skynet"
NO_MENTIONS = discord.AllowedMentions.none()
MENTIONS_PER_MESSAGE = 60  # keeps a "please ask again" message far under 2,000 characters


@dataclass
class PendingAsk:
    """A request the closing instance did not answer: what ``answer()`` was called with."""

    ctx: Any
    text: str
    reply_chain: Tuple[Any, ...] = ()
    uploaded: Tuple[Any, ...] = ()


def ask_again_many(members: str) -> str:
    return _("⚠️ The assistant restarted before it could answer {members}. Please ask again.").format(
        members=members
    )


class Handover:
    """The unanswered requests, waiting for the next instance (or to be told to ask again)."""

    def __init__(self, asks: Sequence[PendingAsk]) -> None:
        self.asks = list(asks)
        self.state = "waiting"  # then "taken" (a new instance answers), "told" or "merged"
        self.decided = asyncio.Event()
        self.keeper: Optional[asyncio.Task] = None

    def take(self) -> List[PendingAsk]:
        """The new instance takes the requests (none if their authors were already told)."""
        if self.state != "waiting":
            return []
        self.state = "taken"
        self.decided.set()
        return self.asks


def leave(bot: Any, asks: Sequence[PendingAsk], pacer: Pacer, *, wait: float = HANDOVER_WAIT) -> Optional[Handover]:
    """Leave ``asks`` for the next instance; tell their authors to ask again if none takes them."""
    previous = getattr(bot, HANDOVER_ATTR, None)
    if previous is not None and getattr(previous, "state", None) == "waiting":
        asks = list(previous.asks) + list(asks)  # unloaded twice before anyone took them
        previous.state = "merged"
        previous.decided.set()
    if not asks:
        return None
    handover = Handover(asks)
    setattr(bot, HANDOVER_ATTR, handover)
    handover.keeper = asyncio.create_task(_keep(bot, handover, pacer, wait), name="skynet-handover")
    return handover


def hand_over_late(bot: Any, ask: PendingAsk, pacer: Pacer, *, wait: float = HANDOVER_WAIT) -> None:
    """A request that reached an instance after it handed over: join the waiting list, or go to
    the instance loaded meanwhile, or wait (alone) for the next one."""
    handover = getattr(bot, HANDOVER_ATTR, None)
    if handover is not None and getattr(handover, "state", None) == "waiting":
        handover.asks.append(ask)
        return
    newer = bot.get_cog(COG_NAME)
    answer = getattr(newer, "answer_handed_over", None)
    if answer is not None and not newer.inflight.closed:
        task = asyncio.create_task(answer(ask), name="skynet-handed-over-answer")
        newer._adopted_tasks.add(task)
        task.add_done_callback(newer._adopted_tasks.discard)
        return
    leave(bot, [ask], pacer, wait=wait)


def keep_pacer(bot: Any, pacer: Pacer) -> None:
    """Leave the pacer for the next instance: the operations just made still count in Discord's
    windows (a fresh pacer would burst into a channel the old instance just used up)."""
    setattr(bot, PACER_ATTR, pacer)


def reuse_pacer(bot: Any, fresh: Pacer) -> Pacer:
    """The previous instance's pacer if it offers everything ``fresh`` does (a reload may bring a
    newer Pacer), else ``fresh``."""
    old = getattr(bot, PACER_ATTR, None)
    if old is None:
        return fresh
    try:
        delattr(bot, PACER_ATTR)
    except AttributeError:
        pass
    public = [name for name in dir(type(fresh)) if not name.startswith("_")]
    if type(old).__name__ == type(fresh).__name__ and all(hasattr(old, name) for name in public):
        return old
    return fresh


def take(bot: Any) -> List[PendingAsk]:
    """The requests a previous instance left (called by ``cog_load``)."""
    handover = getattr(bot, HANDOVER_ATTR, None)
    if handover is None:
        return []
    try:
        delattr(bot, HANDOVER_ATTR)
    except AttributeError:
        pass
    return list(handover.take())


def adopt(bot: Any, answer: Callable[[PendingAsk], Awaitable[None]]) -> List[asyncio.Task]:
    """Answer every request a previous instance left, each in its own task."""
    tasks = []
    for ask in take(bot):
        tasks.append(asyncio.create_task(answer(ask), name="skynet-handed-over-answer"))
    if tasks:
        log.info("Answering %d request(s) the previous instance could not answer.", len(tasks))
    return tasks


async def _keep(bot: Any, handover: Handover, pacer: Pacer, wait: float) -> None:
    try:
        await asyncio.wait_for(handover.decided.wait(), wait)
    except asyncio.TimeoutError:
        pass
    if handover.state != "waiting":
        return
    handover.state = "told"
    if getattr(bot, HANDOVER_ATTR, None) is handover:
        delattr(bot, HANDOVER_ATTR)
    try:
        await asyncio.wait_for(tell_to_ask_again(handover.asks, pacer), TELL_LIMIT)
    except asyncio.TimeoutError:
        log.warning("Could not tell every member to ask again within %s s of unloading.", TELL_LIMIT)


async def tell_to_ask_again(asks: Sequence[PendingAsk], pacer: Pacer) -> None:
    """One reply per channel (the only ask: a reply to it; several: one message naming them), and
    a follow-up to each slash command, so no request ends in silence."""
    by_channel: Dict[int, List[PendingAsk]] = defaultdict(list)
    for ask in asks:
        if getattr(ask.ctx, "interaction", None) is not None:
            await _tell(pacer, ask.ctx.channel.id, ask.ctx.send(restarted_note(), allowed_mentions=NO_MENTIONS))
        else:
            by_channel[ask.ctx.channel.id].append(ask)
    for channel_id, waiting in by_channel.items():
        if len(waiting) == 1:
            ctx = waiting[0].ctx
            reference = ctx.message.to_reference(fail_if_not_exists=False)
            await _tell(
                pacer,
                channel_id,
                ctx.send(restarted_note(), reference=reference, mention_author=False, allowed_mentions=NO_MENTIONS),
            )
            continue
        authors: List[int] = []
        for ask in waiting:
            if ask.ctx.author.id not in authors:
                authors.append(ask.ctx.author.id)
        for start in range(0, len(authors), MENTIONS_PER_MESSAGE):
            members = ", ".join(f"<@{user_id}>" for user_id in authors[start : start + MENTIONS_PER_MESSAGE])
            await _tell(
                pacer, channel_id, waiting[0].ctx.channel.send(ask_again_many(members), allowed_mentions=NO_MENTIONS)
            )


async def _tell(pacer: Pacer, channel_id: int, send: Awaitable[Any]) -> None:
    try:
        await pacer.acquire(channel_id, FINAL)
        await send
    except Exception as exc:  # noqa: BLE001 - the channel may be gone; tell the others
        log.info("Could not tell members in channel %s to ask again: %s", channel_id, exc)
    finally:
        if asyncio.iscoroutine(send):
            send.close()  # never awaited when the pacer wait failed: no "never awaited" warning
