"""SerpAPI (Google results): ``GET /search.json?engine=google&q=…&api_key=…`` → ``organic_results``."""

from __future__ import annotations

from typing import List

from ...i18n import _
from ..registry import ToolError
from .base import BackendHttp, SearchHit, Tokens, base_url, hits_from

SERVICE = "serpapi"
DEFAULT_URL = "https://serpapi.com"


class SerpApiSearch:
    name = SERVICE
    needs = "`[p]set api serpapi api_key,<key>`"

    def __init__(self, tokens: Tokens, http: BackendHttp) -> None:
        self._tokens = tokens
        self._http = http

    def available(self) -> bool:
        return bool(self._tokens(SERVICE).get("api_key"))

    async def search(self, query: str, limit: int) -> List[SearchHit]:
        tokens = self._tokens(SERVICE)
        key = tokens.get("api_key")
        if not key:
            raise ToolError(_("SerpAPI needs a key: {needs}.").format(needs=self.needs), "missing_key")
        url = f"{base_url(tokens, DEFAULT_URL)}/search.json"
        params = {"engine": "google", "q": query, "num": str(limit), "api_key": key}
        data = await self._http.json(SERVICE, "GET", url, params=params)
        if not isinstance(data, dict):
            raise ToolError(_("The serpapi service sent an unexpected answer."), "malformed")
        if data.get("error") and not data.get("organic_results"):
            error = str(data["error"])
            if "hasn't returned any results" in error:
                return []
            raise ToolError(_("The serpapi service reported an error."), "backend_error")
        return hits_from(data.get("organic_results", []), SERVICE, "title", "link", "snippet", limit)
