"""What every backend shares: its service's tokens, a trusted HTTP client, uniform results."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

import aiohttp

from ..registry import ToolError

# The service's tokens as set with ``[p]set api <service> api_key,… api_url,…`` (cached in memory).
Tokens = Callable[[str], Mapping[str, str]]

BACKEND_TIMEOUT = 20.0
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    snippet: str = ""


@dataclass(frozen=True)
class Document:
    url: str
    title: str
    markdown: str


@dataclass
class BackendHttp:
    """One aiohttp session for the owner-configured service URLs (trusted: not URL-guarded).

    Errors never include the request URL or headers, which may carry keys.
    """

    timeout: float = BACKEND_TIMEOUT
    _session: Optional[aiohttp.ClientSession] = field(default=None, repr=False)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": "skynet-cog/0.1 (+Red-DiscordBot)"})
        return self._session

    async def json(
        self,
        service: str,
        method: str,
        url: str,
        *,
        params: Optional[Dict[str, Any]] = None,
        body: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Any:
        try:
            async with self.session().request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                raw = await response.content.read(MAX_RESPONSE_BYTES + 1)
                status = response.status
        except asyncio.TimeoutError:
            raise ToolError(f"The {service} service took too long to answer.", "timeout") from None
        except (aiohttp.ClientError, OSError):
            raise ToolError(f"Couldn't reach the {service} service.", "backend_down") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ToolError(f"The {service} service sent too much data.", "backend_error")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status in (401, 403):
            raise ToolError(
                f"The {service} service rejected the API key; the bot owner can set one with "
                f"`[p]set api {service} api_key,<key>`.",
                "bad_key",
            )
        if status == 429:
            raise ToolError(
                f"The {service} service is rate-limiting requests; try again later.", "rate_limited"
            )
        if status == 402:
            raise ToolError(f"The {service} account is out of credit.", "quota")
        if status >= 400:
            raise ToolError(f"The {service} service answered with error {status}.", "backend_error")
        if data is None:
            raise ToolError(f"The {service} service sent an answer that isn't valid JSON.", "malformed")
        return data

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def base_url(tokens: Mapping[str, str], default: Optional[str]) -> Optional[str]:
    url = (tokens.get("api_url") or default or "").strip().rstrip("/")
    return url or None


def text_field(item: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = item.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def hits_from(items: Any, service: str, title: str, url: str, snippet: str, limit: int) -> List[SearchHit]:
    if not isinstance(items, list):
        raise ToolError(f"The {service} service sent results in an unexpected shape.", "malformed")
    hits = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get(url), str):
            hits.append(SearchHit(text_field(item, title) or item[url], item[url], text_field(item, snippet)))
        if len(hits) >= limit:
            break
    return hits
