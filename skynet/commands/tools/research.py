"""Direct use of the research tools, without the model: ``/ai search``, ``scrape``, ``crawl`` and
``autosearch`` (the same switches, policies and URL guard as the model's calls)."""

from __future__ import annotations

from typing import Any, Dict

from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.tools.builtins import for_members
from ...engine.tools.loop import run_direct
from ...i18n import _
from ..group import AIGroup
from .setup import _links, _pages


class ResearchMixin(MixinMeta):
    # -- direct use, without the model ----------------------------------------------------------

    async def _direct(self, ctx: commands.Context, name: str, arguments: Dict[str, Any]) -> str:
        tool = self._tool_or_error(name)
        if not tool.available():
            raise InvalidValue(
                _("`{name}` isn't set up: the bot owner needs {needs}.")
                .format(name=name, needs=tool.needs_text())
                .replace("[p]", ctx.clean_prefix)
            )
        request = self.chat_request(ctx.author, ctx.channel, "")
        async with ctx.typing():
            result = await run_direct(self.tool_loop, tool, arguments, request)
        if not result.ok:
            raise InvalidValue(result.content)
        return for_members(self.redactor.redact(result.content))

    @AIGroup.ai.command(name="search")
    @app_commands.describe(query="What to search the web for")
    async def ai_search(self, ctx: commands.Context, *, query: str) -> None:
        """Search the web and list the results with links."""
        await _pages(ctx, _links(await self._direct(ctx, "web_search", {"query": query[:501]})))

    @AIGroup.ai.command(name="scrape")
    @app_commands.describe(url="The page to read")
    async def ai_scrape(self, ctx: commands.Context, url: str) -> None:
        """Read one web page and show its main text."""
        await _pages(ctx, _links(await self._direct(ctx, "scrape", {"url": url[:2001]})), limit=3)

    @AIGroup.ai.command(name="crawl")
    @app_commands.describe(url="Where to start", max_pages="How many pages (1-20, default 5)")
    async def ai_crawl(self, ctx: commands.Context, url: str, max_pages: int = 5) -> None:
        """Read several pages of one website (needs Firecrawl)."""
        if not 1 <= max_pages <= 20:
            raise InvalidValue(_("`max_pages` must be between 1 and 20."))
        await _pages(
            ctx,
            _links(await self._direct(ctx, "crawl", {"url": url[:2001], "max_pages": max_pages})),
            limit=4,
        )

    @AIGroup.ai.command(name="autosearch")
    @app_commands.describe(query="A question, a URL, or `research …`")
    async def ai_autosearch(self, ctx: commands.Context, *, query: str) -> None:
        """Search, read or research automatically, with numbered sources."""
        await _pages(ctx, _links(await self._direct(ctx, "autosearch", {"query": query[:501]})), limit=4)
