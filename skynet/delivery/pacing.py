"""Bot-wide pacing of message sends, edits and typing, so streaming replies stay inside Discord's limits.

Discord allows about 5 sends/edits per 5 s in one channel and about 50 requests/s per bot. The
pacer keeps, per channel and for the whole bot, the times of the operations really made, and lets
an operation go only if both sliding windows have room *at the moment it is made*:

* ``acquire()`` queues the operation; a single ``pump`` hands out grants best-first (priority,
  then the reply served least recently, then arrival order, so concurrent replies take turns). A granted operation re-checks the
  windows with the clock when its task actually runs and only then records itself: if the event
  loop stalled between grant and run, the late operations cannot burst past the limits; the
  loser queues again in its place.
* Priorities: ``FIRST`` (a reply's first message: nothing is visible yet) before ``FINAL`` (the
  edit or continuation that completes text) before ``PROGRESS`` (an intermediate edit).
  ``FIRST``/``FINAL`` may use the channel's whole burst (a short answer is sent and completed at
  once); ``PROGRESS`` edits are spaced ``channel_interval`` apart and leave ``reserve`` slots of
  the window free (at least one), for the operations that will end the answer: the streamer asks
  for more when a continuation message is near, so the continuation and the final edit go out at
  once. The interval (1.5 s) is longer than the window allows on average for four edits
  (5.05 s / 4), so progress edits come at a steady pace instead of four quick ones and a stall.
* Typing indicators count against the bot's budget and are dropped (not queued) when it is
  short or anything is waiting: the streamed text is the real progress signal.
* A 429 from Discord (``rate_limited``) blocks the channel (or the bot) for ``retry_after`` and
  then runs it at a lower limit for a while.

Times come from ``clock`` (injectable, so tests can simulate stalls); the timer that wakes
waiters when a window frees uses the event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, deque
from typing import Callable, Deque, Dict, List, Optional, Set

FIRST, FINAL, PROGRESS = 0, 1, 2
BOT_WIDE = -1  # the "channel" of a request counted in the bot's window only (``acquire_bot_wide``)

CHANNEL_LIMIT = 5  # operations per channel window (Discord: 5 per 5 s)
CHANNEL_WINDOW = 5.05  # seconds, with a little margin for clock differences
CHANNEL_INTERVAL = 1.5  # seconds between PROGRESS edits in one channel (see the module's docstring)
GLOBAL_LIMIT = 45  # operations per GLOBAL_WINDOW across the bot (Discord: 50 per s)
GLOBAL_WINDOW = 1.0
TYPING_SHARE = 0.2  # typing only while the bot used less than this share of its budget (text first)
TYPING_INTERVAL = 8.0  # Discord shows a typing indicator for 10 s
PENALTY_SECONDS = 30.0  # after a 429 a channel (or the bot) runs one step slower for this long


class _Ticket:
    __slots__ = ("channel", "priority", "rank", "seq", "future", "owner", "reserve")

    def __init__(
        self, channel: int, priority: int, rank: int, seq: int, owner: object, reserve: int = 1
    ) -> None:
        self.channel = channel
        self.priority = priority
        self.reserve = reserve  # PROGRESS: channel slots to leave free for the answer's end
        self.rank = rank  # when its owner was last served: the least recently served go first
        self.seq = seq
        self.owner = owner
        self.future: Optional[asyncio.Future] = None


class Pacer:
    def __init__(
        self,
        channel_interval: float = CHANNEL_INTERVAL,
        global_rate: float = GLOBAL_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        *,
        channel_limit: int = CHANNEL_LIMIT,
        channel_window: float = CHANNEL_WINDOW,
        global_window: float = GLOBAL_WINDOW,
    ) -> None:
        self.channel_interval = channel_interval
        self.channel_limit = channel_limit
        self.channel_window = channel_window
        self.global_limit = max(1, int(global_rate * global_window))
        self.global_window = global_window
        self._clock = clock
        self._seq = itertools.count()
        self._served = 0  # operations made so far
        self._last_served: Dict[object, int] = {}  # owner -> value of _served at its last operation
        self._channel_ops: Dict[int, Deque[float]] = {}
        self._global_ops: Deque[float] = deque()
        self._blocked: Dict[int, float] = {}  # channel -> until (429 retry_after)
        self._penalty: Dict[int, float] = {}  # channel -> until (one slot fewer)
        self._global_blocked = 0.0
        self._global_penalty = 0.0
        self._last_typing: Dict[int, float] = {}
        self._waiting: List[_Ticket] = []
        self._granted: Set[_Ticket] = set()
        self._timer: Optional[asyncio.TimerHandle] = None
        self.stats = Counter()  # ops, typing, typing_dropped, regrants, rate_limited

    # ------------------------------------------------------------------ public API

    async def acquire(
        self, channel_id: int, priority: int = PROGRESS, *, owner: object = None, reserve: int = 1
    ) -> None:
        """Return when an operation in ``channel_id`` may be made *now*; make it right away.

        The operation is recorded as made at the moment this returns. A ``PROGRESS`` operation
        leaves ``reserve`` (at least 1) of the channel's slots free for what ends the answer.
        """
        if owner is None:
            rank = self._served
        else:
            rank = self._last_served.get(owner, -1)
        ticket = _Ticket(channel_id, priority, rank, next(self._seq), owner, max(1, reserve))
        loop = asyncio.get_running_loop()
        try:
            while True:
                ticket.future = loop.create_future()
                self._waiting.append(ticket)
                self.pump()
                await ticket.future
                self._granted.discard(ticket)
                # The budget is checked again now, when the request is really made.
                now = self._clock()
                if self._fits(now, ticket.channel, ticket.priority, 0, 0, ticket.reserve):
                    self._record(now, ticket.channel)
                    if owner is not None:
                        self._remember_served(owner)
                    if self._waiting:
                        self.pump()
                    return
                self.stats["regrants"] += 1
        finally:  # normally a no-op; on cancellation, give the place or the grant back
            if ticket in self._granted:
                self._granted.discard(ticket)
                self.pump()
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self.pump()

    async def acquire_bot_wide(self) -> None:
        """Return when a request may be made now in the bot's window, ahead of progress edits; it
        is recorded there only. For a command's reply: discord.py itself waits for a channel's
        window from Discord's headers, but the bot-wide window is shared with the streamed replies,
        which the pacer fills up to its limit (not counting replies in the channel windows keeps
        streamed replies in that channel from waiting behind them)."""
        await self.acquire(BOT_WIDE, FIRST)

    def now(self) -> float:
        """The pacer's clock (the streamer plans the end of an answer on it)."""
        return self._clock()

    async def wait(self, channel_id: int) -> None:
        """An intermediate operation (compatibility name for ``acquire(channel, PROGRESS)``)."""
        await self.acquire(channel_id, PROGRESS)

    def _remember_served(self, owner: object) -> None:
        self._last_served.pop(owner, None)  # re-insert: the dict stays ordered by last service
        self._last_served[owner] = self._served
        if len(self._last_served) > 10_000:
            for stale in list(itertools.islice(self._last_served, 5_000)):
                del self._last_served[stale]

    def forget(self, owner: object) -> None:
        """``owner``'s reply is over: its turn-taking rank is not needed any more (kept, each
        finished reply stayed alive, with its messages and context, until 10,000 had ended:
        ``bench/soak.py --census`` showed RSS growing by ~14 MB a minute at 20 messages/s)."""
        self._last_served.pop(owner, None)

    def hurry(self, owner: object) -> None:
        """The operations ``owner`` is waiting for now complete an answer: treat them as FINAL."""
        changed = False
        for ticket in self._waiting:
            if ticket.owner is owner and ticket.owner is not None and ticket.priority > FINAL:
                ticket.priority = FINAL
                changed = True
        if changed:
            self.pump()

    def try_typing(self, channel_id: int) -> bool:
        """Whether a typing indicator may be sent now (recorded if so); never waits."""
        now = self._clock()
        if (
            self._waiting
            or now < self._global_blocked
            or now < self._blocked.get(channel_id, 0.0)
            or now - self._last_typing.get(channel_id, -TYPING_INTERVAL) < TYPING_INTERVAL
            or self._global_count(now) + len(self._granted) >= self._global_limit(now) * TYPING_SHARE
        ):
            self.stats["typing_dropped"] += 1
            return False
        self._last_typing[channel_id] = now
        self._global_ops.append(now)
        self.stats["typing"] += 1
        return True

    def note_request(self) -> None:
        """A request outside the message endpoints was made (a button click answered): it counts
        in the bot-wide window, so replies streaming meanwhile stay inside Discord's budget."""
        self._global_ops.append(self._clock())
        self.stats["interactions"] += 1
        self.pump()

    def rate_limited(self, channel_id: Optional[int], retry_after: float, *, is_global: bool = False) -> None:
        """Discord answered 429: wait ``retry_after`` there, then go one step slower for a while."""
        now = self._clock()
        retry_after = max(0.0, float(retry_after))
        self.stats["rate_limited"] += 1
        if is_global or channel_id is None:
            self._global_blocked = max(self._global_blocked, now + retry_after)
            self._global_penalty = now + retry_after + PENALTY_SECONDS
        else:
            self._blocked[channel_id] = max(self._blocked.get(channel_id, 0.0), now + retry_after)
            self._penalty[channel_id] = now + retry_after + PENALTY_SECONDS
        self.pump()

    def pump(self) -> None:
        """Grant every waiting operation that fits now, best first; arm a timer for the rest."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiting:
            return
        now = self._clock()
        self._waiting.sort(key=lambda t: (t.priority, t.rank, t.seq))
        extra_global = len(self._granted)
        extra_channel = Counter(t.channel for t in self._granted)
        still: List[_Ticket] = []
        wake = float("inf")
        global_limit = self._global_limit(now)
        for index, ticket in enumerate(self._waiting):
            if now < self._global_blocked or self._global_count(now) + extra_global >= global_limit:
                # The bot's budget is used up: nobody else can go before it frees (cheap at N=200).
                still.extend(self._waiting[index:])
                wake = min(wake, self._global_free_at(now))
                break
            channel = ticket.channel
            if self._fits(now, channel, ticket.priority, extra_global, extra_channel[channel], ticket.reserve):
                extra_global += 1
                extra_channel[channel] += 1
                self._granted.add(ticket)
                if ticket.future is not None and not ticket.future.done():
                    ticket.future.set_result(None)
            else:
                still.append(ticket)
                wake = min(wake, self._ready_at(now, ticket))
        self._waiting = still
        if still and wake != float("inf"):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # driven synchronously (tests): the caller pumps again
                return
            self._timer = loop.call_later(max(0.0, wake - now) + 0.001, self.pump)

    # ------------------------------------------------------------------ bookkeeping

    def _record(self, now: float, channel_id: int) -> None:
        self._global_ops.append(now)
        self._served += 1
        self.stats["ops"] += 1
        if channel_id == BOT_WIDE:
            return
        ops = self._channel_ops.get(channel_id)
        if ops is None:
            ops = self._channel_ops[channel_id] = deque()
        ops.append(now)
        if len(self._channel_ops) > 1000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for channel, ops in list(self._channel_ops.items()):
            if not ops or ops[-1] <= now - self.channel_window:
                del self._channel_ops[channel]
        for table in (self._blocked, self._penalty, self._last_typing):
            for channel, until in list(table.items()):
                if until < now - TYPING_INTERVAL:
                    del table[channel]

    def _global_count(self, now: float) -> int:
        ops = self._global_ops
        edge = now - self.global_window
        while ops and ops[0] <= edge:
            ops.popleft()
        return len(ops)

    def _channel_count(self, now: float, channel_id: int) -> int:
        ops = self._channel_ops.get(channel_id)
        if not ops:
            return 0
        edge = now - self.channel_window
        while ops and ops[0] <= edge:
            ops.popleft()
        return len(ops)

    def _global_limit(self, now: float) -> int:
        if now < self._global_penalty:
            return max(1, int(self.global_limit * 0.75))
        return self.global_limit

    def _channel_limit(self, now: float, channel_id: int) -> int:
        if now < self._penalty.get(channel_id, 0.0):
            return max(1, self.channel_limit - 1)
        return self.channel_limit

    def _fits(
        self, now: float, channel_id: int, priority: int, extra_global: int, extra_channel: int, reserve: int = 1
    ) -> bool:
        if now < self._global_blocked or now < self._blocked.get(channel_id, 0.0):
            return False
        if self._global_count(now) + extra_global >= self._global_limit(now):
            return False
        if channel_id == BOT_WIDE:
            return True
        limit = self._channel_limit(now, channel_id)
        used = self._channel_count(now, channel_id) + extra_channel
        if priority < PROGRESS:
            return used < limit
        if extra_channel or used >= max(1, limit - reserve):
            return False
        ops = self._channel_ops.get(channel_id)
        return not ops or now - ops[-1] >= self.channel_interval

    def _global_free_at(self, now: float) -> float:
        at = max(now, self._global_blocked)
        if self._global_ops:
            at = max(at, self._global_ops[0] + self.global_window)
        return at if at > now else now + 0.01

    def _ready_at(self, now: float, ticket: _Ticket) -> float:
        """A time when ``ticket`` may fit (a lower bound is fine: the pump runs again then)."""
        at = max(now, self._global_blocked, self._blocked.get(ticket.channel, 0.0))
        if self._global_ops and len(self._global_ops) >= self._global_limit(now):
            at = max(at, self._global_ops[0] + self.global_window)
        ops = self._channel_ops.get(ticket.channel)
        if ops:
            limit = self._channel_limit(now, ticket.channel)
            if ticket.priority == PROGRESS:
                at = max(at, ops[-1] + self.channel_interval)
                limit = max(1, limit - ticket.reserve)
            if len(ops) >= limit:
                at = max(at, ops[len(ops) - limit] + self.channel_window)
        return at if at > now else now + 0.01
