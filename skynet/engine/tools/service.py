"""The tool service: backends, the URL guard, the registry and the owner's backend choices.

The built-in tools and the direct commands (``[p]ai search`` …) both call it, so they behave
the same. Service tokens are cached in memory (refreshed when the owner runs ``[p]set api``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Protocol

from ..i18n import _
from .backends.base import BackendHttp, Document, SearchHit
from .backends.firecrawl import Firecrawl
from .backends.reader import PageReader
from .backends.searxng import SearxngSearch
from .backends.serpapi import SerpApiSearch
from .guard import UrlGuard
from .registry import ToolError, ToolRegistry
from .telemetry import ToolTelemetry

SERVICES = ("serpapi", "searxng", "firecrawl")
MAX_QUERY_CHARS = 500


class SearchBackend(Protocol):
    name: str
    needs: Optional[str]

    def available(self) -> bool: ...

    async def search(self, query: str, limit: int) -> List[SearchHit]: ...


class ToolService:
    def __init__(self, guard: Optional[UrlGuard] = None, http: Optional[BackendHttp] = None) -> None:
        self.guard = guard or UrlGuard()
        self.http = http or BackendHttp()
        self.registry = ToolRegistry()
        self.telemetry = ToolTelemetry()
        self._tokens: Dict[str, Mapping[str, str]] = {}
        self.firecrawl = Firecrawl(self.tokens, self.http, self.guard.check)
        self.reader = PageReader(self.guard)
        self.search_backends: Dict[str, Any] = {
            "serpapi": SerpApiSearch(self.tokens, self.http),
            "searxng": SearxngSearch(self.tokens, self.http),
            "firecrawl": self.firecrawl,
        }
        self.scrape_backends: Dict[str, Any] = {"firecrawl": self.firecrawl, "builtin": self.reader}
        self.choice: Dict[str, Optional[str]] = {"search": None, "scrape": None}

    # -- tokens ------------------------------------------------------------------------------------

    def tokens(self, service: str) -> Mapping[str, str]:
        return self._tokens.get(service, {})

    def set_tokens(self, service: str, tokens: Mapping[str, str]) -> None:
        self._tokens[service] = dict(tokens)

    # -- backend choice: the owner's pick, else the first one configured -----------------------------

    def search_backend(self) -> Optional[Any]:
        chosen = self.search_backends.get(self.choice.get("search") or "")
        if chosen is not None:
            return chosen if chosen.available() else None
        return next((b for b in self.search_backends.values() if b.available()), None)

    def scrape_backend(self) -> Any:
        chosen = self.scrape_backends.get(self.choice.get("scrape") or "")
        if chosen is not None and chosen.available():
            return chosen
        return self.firecrawl if self.firecrawl.available() else self.reader

    def describe(self) -> str:
        """The backends in use, for ``[p]ai diag`` (which one answers a search and reads a page)."""
        search = self.search_backend()
        return _("search by {search}, pages read by {scrape}").format(
            search=f"`{search.name}`" if search is not None else _("nothing (no search backend set up)"),
            scrape=f"`{self.scrape_backend().name}`",
        )

    # -- operations --------------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 5) -> List[SearchHit]:
        query = check_query(query)
        backend = self.search_backend()
        if backend is None:
            raise ToolError(
                _("No search backend is set up. The bot owner can set one: {options}").format(
                    options="; ".join(b.needs for b in self.search_backends.values())
                ),
                "missing_key",
            )
        return await backend.search(query, max(1, min(10, limit)))

    async def scrape(self, url: str) -> Document:
        return await self.scrape_backend().scrape(url.strip())

    async def crawl(self, url: str, max_pages: int = 5, max_depth: int = 2) -> List[Document]:
        if not self.firecrawl.available():
            raise ToolError(
                _("Crawling needs Firecrawl: {needs}.").format(needs=self.firecrawl.needs), "missing_key"
            )
        return await self.firecrawl.crawl(url.strip(), max(1, min(20, max_pages)), max(1, min(3, max_depth)))

    async def aclose(self) -> None:
        await self.guard.aclose()
        await self.http.aclose()


def check_query(query: str) -> str:
    query = " ".join(query.split())
    if not query:
        raise ToolError(_("The search query is empty."), "bad_arguments")
    if len(query) > MAX_QUERY_CHARS:
        raise ToolError(
            _("The search query is too long (over {limit} characters).").format(limit=MAX_QUERY_CHARS),
            "bad_arguments",
        )
    return query
