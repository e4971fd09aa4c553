"""Bot-wide pacing of message sends and edits, so streaming replies never hit 429s.

Discord allows about 5 sends/edits per 5 s in one channel and about 50 requests/s per bot. Each
operation reserves the next free slot of its channel and of the bot; slots are handed out in
order, so concurrent replies share the budget fairly instead of racing.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Callable, Dict, Set

CHANNEL_INTERVAL = 1.0  # seconds between operations in one channel
GLOBAL_RATE = 40.0  # operations per second across the bot, below Discord's 50


class Pacer:
    def __init__(
        self,
        channel_interval: float = CHANNEL_INTERVAL,
        global_rate: float = GLOBAL_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channel_interval = channel_interval
        self._global_rate = global_rate
        self._clock = clock
        self._next_in_channel: Dict[int, float] = {}
        # The bot-wide budget is kept as time buckets of 1/global_rate seconds, one operation
        # each, so a busy channel's future slots never hold up the other channels.
        self._taken: Set[int] = set()

    def reserve(self, channel_id: int) -> float:
        """Reserve the next slot for ``channel_id``; returns how many seconds to wait for it."""
        now = self._clock()
        slot = max(now, self._next_in_channel.get(channel_id, now))
        bucket = math.floor(slot * self._global_rate)
        while bucket in self._taken:
            bucket += 1
            slot = bucket / self._global_rate
        self._taken.add(bucket)
        self._next_in_channel[channel_id] = slot + self._channel_interval
        if len(self._taken) > 1000 or len(self._next_in_channel) > 1000:
            current = math.floor(now * self._global_rate)
            self._taken = {b for b in self._taken if b >= current}
            self._next_in_channel = {c: t for c, t in self._next_in_channel.items() if t > now}
        return slot - now

    async def wait(self, channel_id: int) -> None:
        delay = self.reserve(channel_id)
        if delay > 0:
            await asyncio.sleep(delay)
