"""What the harness records: the bot's sends, edits, deletes and typing, and the ids of its world."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import List, Literal, Optional

log = logging.getLogger("skynet_dev.harness")

EventKind = Literal[
    "send",  # a message of the bot appeared (channel send, interaction response, followup)
    "edit",  # the bot edited a message
    "delete",  # the bot deleted a message (its own or someone else's)
    "typing",  # the bot triggered the typing indicator (prefix ``ctx.typing()``)
    "defer",  # an interaction acknowledged with "Bot is thinking..." (ctx.defer(), ctx.typing())
    "autocomplete",  # the bot answered an autocomplete request; choices in ``payload["choices"]``
    "interaction_response",  # any other interaction callback (modal, component update...), raw payload
    "reaction",  # the bot added a reaction to a message; the emoji in ``content``
]
Via = Literal["channel", "interaction", "followup", "webhook"]  # webhook: a channel webhook


@dataclass
class BotEvent:
    """Something the bot did in Discord, observed at dpytest's backend.

    ``content`` is the message's content *after* this action (for ``send``/``edit``), else None.
    ``allowed_mentions`` is the ``allowed_mentions`` object the bot sent with this request (None when
    the request carried none, which on Discord means "parse every mention in the content").
    ``payload`` is the JSON body the bot sent; for an interaction callback its ``data`` part
    (``defer``/``autocomplete``/``interaction_response`` add the callback type as
    ``"callback_type"``). ``via``: how it was sent (channel endpoint, interaction response
    endpoints, or followup webhook).
    """

    kind: EventKind
    channel_id: int
    message_id: Optional[int]
    content: Optional[str]
    allowed_mentions: Optional[dict]
    at: float  # time.monotonic() when observed
    payload: dict = field(default_factory=dict)
    via: Via = "channel"
    ephemeral: bool = False
    interaction_id: Optional[int] = None

    @property
    def may_ping(self) -> bool:
        """Conservative: False only if ``allowed_mentions`` forbids every kind of ping.

        Only meaningful for ``send`` (Discord never notifies for mentions added by an edit).
        """
        am = self.allowed_mentions
        if am is None:
            return True  # Discord's default when the field is absent: parse everything
        return bool(am.get("parse") or am.get("users") or am.get("roles") or am.get("replied_user"))


@dataclass
class BotMessage:
    """The current state of one message the bot created (after all edits)."""

    id: int
    channel_id: int
    content: str
    embeds: List[dict]
    via: Via = "channel"
    ephemeral: bool = False
    loading: bool = False  # a deferred interaction still showing "Bot is thinking..."
    deleted: bool = False
    edits: int = 0
    interaction_id: Optional[int] = None


@dataclass(frozen=True)
class HarnessIds:
    """Fixed snowflakes for the simulated world.

    They are stable across runs so that per-guild / per-user Config data kept in a persistent
    data folder (the console) still applies next time. Values only need to be valid snowflakes.
    """

    guild: int = 1100000000000000100
    channel: int = 1100000000000000200
    admin_role: int = 1100000000000000300
    owner: int = 1100000000000000401
    admin: int = 1100000000000000402
    member: int = 1100000000000000403
