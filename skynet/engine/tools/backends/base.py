"""What every backend shares: its service's tokens, a trusted HTTP client, uniform results."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

import aiohttp

from ...i18n import _
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
            raise ToolError(_("The {service} service took too long to answer.").format(service=service), "timeout") from None
        except (aiohttp.ClientError, OSError):
            raise ToolError(_("Couldn't reach the {service} service.").format(service=service), "backend_down") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ToolError(_("The {service} service sent too much data.").format(service=service), "backend_error")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status in (401, 403):
            raise ToolError(
                _(
                    "The {service} service rejected the API key; the bot owner can set one with "
                    "`[p]set api {service} api_key,<key>`."
                ).format(service=service),
                "bad_key",
            )
        if status == 429:
            raise ToolError(
                _("The {service} service is rate-limiting requests; try again later.").format(service=service),
                "rate_limited",
            )
        if status == 402:
            raise ToolError(_("The {service} account is out of credit.").format(service=service), "quota")
        if status >= 400:
            raise ToolError(
                _("The {service} service answered with error {status}.").format(service=service, status=status),
                "backend_error",
            )
        if data is None:
            raise ToolError(
                _("The {service} service sent an answer that isn't valid JSON.").format(service=service), "malformed"
            )
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
        raise ToolError(
            _("The {service} service sent results in an unexpected shape.").format(service=service), "malformed"
        )
    hits = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get(url), str):
            hits.append(SearchHit(text_field(item, title) or item[url], item[url], text_field(item, snippet)))
        if len(hits) >= limit:
            break
    return hits
