"""The ``ai`` command group that every other mixin hangs its commands on."""

from __future__ import annotations

from redbot.core import commands

from ..abc import MixinMeta

# redgettext extracts the help of functions under a decorator named `command` or `group`.
group = commands.hybrid_group


class AIGroup(MixinMeta):
    @group(name="ai")
    async def ai(self, ctx: commands.Context) -> None:
        """Talk to the AI assistant and configure it."""
