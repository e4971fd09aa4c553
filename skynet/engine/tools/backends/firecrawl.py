"""Firecrawl v1: ``POST /v1/search``, ``POST /v1/scrape``, ``POST /v1/crawl`` + ``GET /v1/crawl/{id}``.

The key goes in ``Authorization: Bearer``; a self-hosted Firecrawl (``api_url``) may need none.
Every URL handed to Firecrawl passes the URL guard first, like a page we fetch ourselves.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from ...i18n import _
from ..registry import ToolError
from .base import BackendHttp, Document, SearchHit, Tokens, base_url, hits_from, text_field

SERVICE = "firecrawl"
DEFAULT_URL = "https://api.firecrawl.dev"
CRAWL_POLL = 2.0
CRAWL_DEADLINE = 90.0


class Firecrawl:
    name = SERVICE

    @property
    def needs(self) -> str:
        """What the owner sets up for Firecrawl, in the reader's locale."""
        return _("`[p]set api firecrawl api_key,<key>` (or `api_url,…` for a self-hosted Firecrawl)")

    def __init__(
        self,
        tokens: Tokens,
        http: BackendHttp,
        check_url: Callable[[str], Awaitable[Any]],
        *,
        poll: float = CRAWL_POLL,
        deadline: float = CRAWL_DEADLINE,
    ) -> None:
        self._tokens = tokens
        self._http = http
        self._check_url = check_url
        self.poll = poll
        self.deadline = deadline

    def available(self) -> bool:
        tokens = self._tokens(SERVICE)
        return bool(tokens.get("api_key") or tokens.get("api_url"))

    def _root_and_headers(self) -> tuple:
        tokens = self._tokens(SERVICE)
        if not (tokens.get("api_key") or tokens.get("api_url")):
            raise ToolError(_("Firecrawl isn't set up: {needs}.").format(needs=self.needs), "missing_key")
        headers = {"Authorization": f"Bearer {tokens['api_key']}"} if tokens.get("api_key") else {}
        return base_url(tokens, DEFAULT_URL), headers

    async def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Mapping[str, Any]:
        root, headers = self._root_and_headers()
        if path.startswith(("http://", "https://")) and not path.startswith(root + "/"):
            raise ToolError(_("The firecrawl service pointed elsewhere; stopping."), "malformed")
        url = path if path.startswith(root + "/") else f"{root}{path}"
        data = await self._http.json(SERVICE, method, url, body=body, headers=headers)
        if not isinstance(data, Mapping):
            raise ToolError(_("The firecrawl service sent an unexpected answer."), "malformed")
        if data.get("success") is False:
            raise ToolError(_("The firecrawl service couldn't do that."), "backend_error")
        return data

    async def search(self, query: str, limit: int) -> List[SearchHit]:
        data = await self._call("POST", "/v1/search", {"query": query, "limit": limit})
        return hits_from(data.get("data"), SERVICE, "title", "url", "description", limit)

    async def scrape(self, url: str) -> Document:
        await self._check_url(url)
        data = await self._call(
            "POST", "/v1/scrape", {"url": url, "formats": ["markdown"], "onlyMainContent": True}
        )
        return _document(data.get("data"), url)

    async def crawl(self, url: str, max_pages: int, max_depth: int) -> List[Document]:
        await self._check_url(url)
        started = await self._call(
            "POST",
            "/v1/crawl",
            {
                "url": url,
                "limit": max_pages,
                "maxDepth": max_depth,
                "scrapeOptions": {"formats": ["markdown"], "onlyMainContent": True},
            },
        )
        job = started.get("id")
        if not isinstance(job, str) or not job.replace("-", "").isalnum():
            raise ToolError(_("The firecrawl service didn't start the crawl."), "malformed")
        deadline = time.monotonic() + self.deadline
        documents: List[Document] = []
        next_path: Optional[str] = f"/v1/crawl/{job}"
        while True:
            status = await self._call("GET", next_path)
            state = status.get("status")
            if state == "failed":
                raise ToolError(_("The crawl failed."), "backend_error")
            if state == "completed":
                documents += [
                    _document(item, url) for item in status.get("data") or [] if isinstance(item, Mapping)
                ]
                following = status.get("next")
                if isinstance(following, str) and following and len(documents) < max_pages:
                    next_path = following  # the rest of a large result, on the same service
                    continue
                return documents[:max_pages]
            if time.monotonic() > deadline:
                raise ToolError(_("The crawl took too long; try fewer pages."), "timeout")
            await asyncio.sleep(self.poll)


def _document(item: Any, fallback_url: str) -> Document:
    if not isinstance(item, Mapping):
        raise ToolError(_("The firecrawl service sent an unexpected answer."), "malformed")
    metadata = item.get("metadata") if isinstance(item.get("metadata"), Mapping) else {}
    url = text_field(metadata, "sourceURL", "url") or fallback_url
    return Document(url, text_field(metadata, "title") or url, text_field(item, "markdown"))
