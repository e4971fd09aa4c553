"""A self-hosted SearXNG: ``GET /search?q=…&format=json`` → ``results`` (no key; ``api_url`` required)."""

from __future__ import annotations

from typing import List

from ...i18n import _
from ..registry import ToolError
from .base import BackendHttp, SearchHit, Tokens, base_url, hits_from

SERVICE = "searxng"


class SearxngSearch:
    name = SERVICE
    needs = "`[p]set api searxng api_url,https://your-searxng`"

    def __init__(self, tokens: Tokens, http: BackendHttp) -> None:
        self._tokens = tokens
        self._http = http

    def available(self) -> bool:
        return bool(self._tokens(SERVICE).get("api_url"))

    async def search(self, query: str, limit: int) -> List[SearchHit]:
        tokens = self._tokens(SERVICE)
        root = base_url(tokens, None)
        if not root:
            raise ToolError(_("SearXNG needs its address: {needs}.").format(needs=self.needs), "missing_key")
        headers = {"Authorization": f"Bearer {tokens['api_key']}"} if tokens.get("api_key") else None
        data = await self._http.json(
            SERVICE, "GET", f"{root}/search", params={"q": query, "format": "json"}, headers=headers
        )
        if not isinstance(data, dict):
            raise ToolError(_("The searxng service sent an unexpected answer."), "malformed")
        return hits_from(data.get("results", []), SERVICE, "title", "url", "content", limit)
