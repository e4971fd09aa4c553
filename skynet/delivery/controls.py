"""Buttons that steer a reply: **Stop** while it streams, then **Regenerate** and **Continue**.

The buttons are ``discord.ui.DynamicItem`` s: their custom id (``skynet:steer:<action>:<key>``)
routes a click to this cog at any time, also after a reload, without a view per message kept in
memory. A click on a reply this process no longer knows (the bot restarted, the reply is too old)
removes the buttons from that message and says so to the clicker only.

Who may click: **Stop** the member who asked and the server's admins; **Regenerate** and
**Continue** only the member who asked. Anyone else gets a private notice and nothing happens.
Every interaction response goes through the pacer's bot-wide budget (``pacer.note_request``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

import discord

from ..engine.i18n import _

log = logging.getLogger("red.skynet.controls")

STOP, REGENERATE, CONTINUE = "stop", "regen", "more"
CUSTOM_ID = r"skynet:steer:(?P<action>stop|regen|more):(?P<key>[0-9a-f]{8,16})"
KEEP_REPLIES = 500  # ended replies that can still be regenerated (the oldest are forgotten)
KEEP_SECONDS = 6 * 3600
# What Continue asks the model (the truncated answer is in the conversation before it).
CONTINUE_PROMPT = "Continue your previous answer exactly where it stopped, without repeating it."

IsAdmin = Callable[[discord.abc.User], Awaitable[bool]]
Action = Callable[["Steer", discord.Interaction], Awaitable[Any]]


def stop_label() -> str:
    return _("Stop")


def regenerate_label() -> str:
    return _("Regenerate")


def continue_label() -> str:
    return _("Continue")


@dataclass
class Steer:
    """One reply that members can steer."""

    key: str
    asker_id: int
    channel_id: int
    guild_id: Optional[int]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    streaming: bool = True
    finish_reason: Optional[str] = None
    stopped_by: Optional[int] = None
    regenerate: Optional[Action] = None  # set by the shell: answer the same question again
    resume: Optional[Action] = None  # set by the shell: continue after a max_tokens stop
    streamer: Any = None  # the ReplyStreamer showing it (frozen on Stop)
    messages: List[discord.Message] = field(default_factory=list)
    ended_at: float = 0.0
    opened_at: float = 0.0
    busy: bool = False  # a regeneration or continuation is running

    @property
    def state(self) -> Optional[str]:
        """Which buttons the reply shows: "streaming", "ended", "ended+more" or None."""
        if self.streaming:
            return "streaming"
        if self.busy:
            return None
        return "ended+more" if self.finish_reason == "length" and self.resume else "ended"


class SteerButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID):
    """One steering button; ``Steering`` finds the reply from the key in its custom id."""

    def __init__(self, action: str, key: str) -> None:
        labels = {
            STOP: (stop_label, "⏹️", discord.ButtonStyle.danger),
            REGENERATE: (regenerate_label, "🔄", discord.ButtonStyle.secondary),
            CONTINUE: (continue_label, "⏩", discord.ButtonStyle.primary),
        }
        label, emoji, style = labels[action]
        super().__init__(
            discord.ui.Button(
                label=label(), emoji=emoji, style=style, custom_id=f"skynet:steer:{action}:{key}"
            )
        )
        self.action = action
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: Any, /
    ) -> "SteerButton":
        return cls(match["action"], match["key"])

    async def callback(self, interaction: discord.Interaction) -> None:
        steering = Steering.active
        if steering is None:
            await _gone(interaction)
            return
        await steering.clicked(interaction, self.action, self.key)


async def _gone(interaction: discord.Interaction) -> None:
    """A button of a reply nobody tracks any more: take the buttons off, say why, privately."""
    try:
        message = interaction.message
        if message is not None and message.flags.components_v2:
            view = discord.ui.LayoutView(timeout=None)
            for text in _text_displays(message):
                view.add_item(discord.ui.TextDisplay(text))
            await interaction.response.edit_message(view=view)
        else:
            await interaction.response.edit_message(view=None)
        await interaction.followup.send(
            _("These buttons no longer work (the assistant restarted or the answer is too old)."),
            ephemeral=True,
        )
    except discord.HTTPException as exc:
        log.info("Could not clear stale reply buttons: %s", exc)


def _text_displays(message: discord.Message) -> List[str]:
    texts: List[str] = []

    def walk(components: Any) -> None:
        for component in components or ():
            if isinstance(component, discord.components.TextDisplay):
                texts.append(component.content)
            walk(getattr(component, "children", None) or getattr(component, "components", None))

    walk(message.components)
    return texts or ["\u200b"]


class Steering:
    """The replies members can steer, by key. One per cog (``Steering.active`` while loaded)."""

    active: Optional["Steering"] = None

    def __init__(
        self,
        is_admin: IsAdmin,
        *,
        note_request: Optional[Callable[[], None]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._is_admin = is_admin
        self._note_request = note_request or (lambda: None)
        self._clock = clock
        # Two tables, each in the order its entries can expire (opened, ended), so forgetting the
        # old ones looks at the front only: a full pass per new reply made 3,000 replies waiting
        # in a backlog cost a fifth of the bot's CPU (bench/soak.py, profiled with py-spy).
        self._streaming: "OrderedDict[str, Steer]" = OrderedDict()
        self._ended: "OrderedDict[str, Steer]" = OrderedDict()
        self.clicks: Dict[str, int] = {STOP: 0, REGENERATE: 0, CONTINUE: 0, "refused": 0}

    # -- lifecycle

    def install(self, bot: Any) -> None:
        Steering.active = self
        bot.add_dynamic_items(SteerButton)

    def uninstall(self, bot: Any) -> None:
        if Steering.active is self:
            Steering.active = None
        bot.remove_dynamic_items(SteerButton)
        for steer in self._streaming.values():
            steer.stop.set()  # a streaming reply stops; the unload note is the reply's own
        self._streaming.clear()
        self._ended.clear()

    # -- replies

    def open(self, asker_id: int, channel_id: int, guild_id: Optional[int]) -> Steer:
        steer = Steer(secrets.token_hex(6), asker_id, channel_id, guild_id, opened_at=self._clock())
        self._streaming[steer.key] = steer
        self._prune()
        return steer

    def get(self, key: str) -> Optional[Steer]:
        return self._streaming.get(key) or self._ended.get(key)

    def ended(self, steer: Steer, finish_reason: Optional[str]) -> None:
        steer.streaming = False
        steer.finish_reason = finish_reason
        steer.ended_at = self._clock()
        self._streaming.pop(steer.key, None)
        self._ended[steer.key] = steer
        self._ended.move_to_end(steer.key)
        self._prune()

    def _prune(self) -> None:
        """Forget replies older than KEEP_SECONDS (also ones that never ended) and, past
        KEEP_REPLIES, the oldest ended ones."""
        now = self._clock()
        for table, since in ((self._streaming, "opened_at"), (self._ended, "ended_at")):
            while table:
                key, oldest = next(iter(table.items()))
                if now - getattr(oldest, since) <= KEEP_SECONDS:
                    break
                del table[key]
        while len(self._ended) > KEEP_REPLIES:
            self._ended.popitem(last=False)

    def buttons(self, steer: Steer, state: Optional[str]) -> List[SteerButton]:
        if state == "streaming":
            return [SteerButton(STOP, steer.key)]
        if state in ("ended", "ended+more"):
            items = [SteerButton(REGENERATE, steer.key)] if steer.regenerate else []
            if state == "ended+more":
                items.append(SteerButton(CONTINUE, steer.key))
            return items
        return []

    def view(self, steer: Steer, state: Optional[str]) -> Optional[discord.ui.View]:
        """A classic message's buttons for ``state`` (None: no buttons)."""
        items = self.buttons(steer, state)
        if not items:
            return None
        view = discord.ui.View(timeout=None)
        for item in items:
            view.add_item(item)
        return view

    # -- clicks

    async def clicked(self, interaction: discord.Interaction, action: str, key: str) -> None:
        self._note_request()  # the interaction response is one request of the bot's budget
        steer = self.get(key)
        if steer is None:
            await _gone(interaction)
            return
        user = interaction.user
        allowed = user.id == steer.asker_id or (action == STOP and await self._is_admin(user))
        if not allowed:
            self.clicks["refused"] += 1
            text = (
                _("Only the member who asked, or an admin, can stop this answer.")
                if action == STOP
                else _("Only the member who asked can use this button.")
            )
            await interaction.response.send_message(text, ephemeral=True)
            return
        if action == STOP:
            await self._stop(interaction, steer)
            return
        if steer.streaming or steer.busy:
            await interaction.response.send_message(_("The answer is still being written."), ephemeral=True)
            return
        handler = steer.regenerate if action == REGENERATE else steer.resume
        if handler is None:
            await interaction.response.send_message(_("This answer can't do that."), ephemeral=True)
            return
        self.clicks[action] += 1
        await interaction.response.defer()  # acknowledged; the reply itself shows what happens
        steer.busy = True
        try:
            await handler(steer, interaction)
        finally:
            steer.busy = False

    async def _stop(self, interaction: discord.Interaction, steer: Steer) -> None:
        if not steer.streaming:
            await interaction.response.send_message(_("This answer is already complete."), ephemeral=True)
            return
        self.clicks[STOP] += 1
        steer.stopped_by = interaction.user.id
        steer.stop.set()
        if steer.streamer is not None:
            steer.streamer.freeze()  # nothing more is shown; the final edit follows at once
        await interaction.response.defer()
