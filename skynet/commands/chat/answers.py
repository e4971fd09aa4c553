"""``[p]ai answers``: how much one answer may post in a channel before the rest comes as a file.

The model's ``max_tokens`` bounds an answer first; these caps bound what one answer may post: a
number of messages and of characters, after which one more message carries a note and the whole
answer as a file (see ``delivery/bounds.py``). Bot owner only: they protect every channel.
"""

from __future__ import annotations

from redbot.core import commands

from ...abc import MixinMeta
from ...delivery.bounds import CHARACTERS_RANGE, MESSAGES_RANGE, AnswerBounds
from ...engine.errors import InvalidValue
from ...i18n import _
from ..common import reply
from ..group import AIGroup


class AnswersMixin(MixinMeta):
    def answer_bounds(self) -> AnswerBounds:
        """The owner's caps, from the settings cache (no I/O: read for every answer)."""
        return AnswerBounds.from_json(self.settings.answer_bounds())

    def answers_text(self) -> str:
        bounds = self.answer_bounds()
        return _(
            "One answer posts at most **{messages} messages** and **{characters} characters**; past "
            "either, the whole answer comes as a file with a note. The model's `max_tokens` still "
            "ends an answer first.\nChange them with `[p]ai answers messages <n>` ({m_low}–{m_high}) "
            "and `[p]ai answers characters <n>` ({c_low}–{c_high})."
        ).format(
            messages=bounds.max_messages,
            characters=f"{bounds.max_characters:,}",
            m_low=MESSAGES_RANGE[0],
            m_high=MESSAGES_RANGE[1],
            c_low=f"{CHARACTERS_RANGE[0]:,}",
            c_high=f"{CHARACTERS_RANGE[1]:,}",
        )

    @AIGroup.ai.group(name="answers", with_app_command=False, invoke_without_command=True)
    @commands.is_owner()
    async def ai_answers(self, ctx: commands.Context) -> None:
        """Owner: how many messages and characters one answer may post before it comes as a file."""
        await reply(ctx, self.answers_text())

    @ai_answers.command(name="messages", with_app_command=False)
    async def ai_answers_messages(self, ctx: commands.Context, count: int) -> None:
        """Set how many messages one answer may post (1–50, default 10); the rest comes as a file."""
        low, high = MESSAGES_RANGE
        if not low <= count <= high:
            raise InvalidValue(
                _("The number of messages must be between {low} and {high}.").format(low=low, high=high)
            )
        bounds = self.answer_bounds()
        await self.settings.set_answer_bounds(AnswerBounds(count, bounds.max_characters).to_json())
        await reply(ctx, self.answers_text())

    @ai_answers.command(name="characters", with_app_command=False)
    async def ai_answers_characters(self, ctx: commands.Context, count: int) -> None:
        """Set how many characters one answer may post (500–100,000, default 25,000)."""
        low, high = CHARACTERS_RANGE
        if not low <= count <= high:
            raise InvalidValue(
                _("The number of characters must be between {low} and {high}.").format(
                    low=f"{low:,}", high=f"{high:,}"
                )
            )
        bounds = self.answer_bounds()
        await self.settings.set_answer_bounds(AnswerBounds(bounds.max_messages, count).to_json())
        await reply(ctx, self.answers_text())
