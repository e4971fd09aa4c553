"""Requests across an unload or reload: the closing instance hands them over, the next answers them.

``close_replies()`` is the first thing ``cog_unload`` does (see ``delivery/lifecycle.py`` for the
whole story); ``adopt_requests()`` the last thing ``cog_load`` does. A request that reaches the
closing instance (its command passed Red's checks just before the unload) goes the same way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Set

from ...abc import MixinMeta
from ...delivery import lifecycle
from ...delivery.style import error_text
from ...engine.errors import SkynetError
from ..common import reply

log = logging.getLogger("red.skynet.handover")


class HandoverMixin(MixinMeta):
    handover_wait: float = lifecycle.HANDOVER_WAIT  # seconds the next instance has to take them
    _handover_left = False
    _adopted_tasks: Set[asyncio.Task]

    def hand_over(self, ask: lifecycle.PendingAsk) -> None:
        """A request this closing instance will not answer: to the next instance, or told."""
        if not self._handover_left:
            self.inflight.hand_over(ask)  # close_replies() leaves it with the others
        else:
            lifecycle.hand_over_late(self.bot, ask, self.pacer, wait=self.handover_wait)

    async def close_replies(self) -> None:
        """End every reply (clean cut), then leave the unanswered requests for the next instance."""
        asks = await self.inflight.cancel_all()
        self._handover_left = True
        lifecycle.keep_pacer(self.bot, self.pacer)
        lifecycle.leave(self.bot, asks, self.pacer, wait=self.handover_wait)

    def adopt_requests(self) -> None:
        """Answer the requests a previous instance left (in tasks: loading is not held up)."""
        self._adopted_tasks = set()
        for task in lifecycle.adopt(self.bot, self.answer_handed_over):
            self._adopted_tasks.add(task)
            task.add_done_callback(self._adopted_tasks.discard)

    async def answer_handed_over(self, ask: Any) -> None:
        """Answer a request as if it had just been asked; a refusal is replied like a command's."""
        ctx = ask.ctx
        try:
            await self.answer(ctx, ask.text, reply_chain=tuple(ask.reply_chain), uploaded=tuple(ask.uploaded))
        except SkynetError as exc:
            await reply(ctx, error_text(exc.message, ctx.clean_prefix), ephemeral=True)
        except Exception:  # noqa: BLE001 - a task of its own: nobody else would see it
            log.exception("Answering a request handed over by the previous instance failed")
