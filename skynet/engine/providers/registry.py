"""Named endpoints and their live provider clients, created lazily and reused."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import Awaitable, Callable, Dict, Mapping, Optional, Set, Tuple

from ..errors import FriendlyError, MissingKey, Redactor, UnknownEndpoint, explain
from ..i18n import _
from .aiohttp_transport import provider_http_client
from .base import ChatProvider, Endpoint
from .openai_compat import OpenAICompatibleProvider

KeyLookup = Callable[[str], Awaitable[Optional[str]]]
OWN_KEY_CLIENTS = 256
ProviderFactory = Callable[..., ChatProvider]  # (endpoint, api_key, *, http_client) -> provider


def missing_key_message(endpoint: str, service: str) -> str:
    return _(
        "No API key is set for **{endpoint}**. The bot owner can set one with "
        "`[p]set api {service} api_key,<key>`."
    ).format(endpoint=endpoint, service=service)


class ProviderRegistry:
    """Holds the configured endpoints and one client per endpoint.

    Keys are looked up through ``key_lookup`` (Red's shared API tokens) when a client is first
    needed, registered with the redactor, and dropped when the owner changes them. All clients
    share one HTTP connection pool, created with the registry (at cog load), so a new client on
    the hot path costs no TLS setup.
    """

    def __init__(
        self,
        key_lookup: KeyLookup,
        redactor: Redactor,
        factory: ProviderFactory = OpenAICompatibleProvider,
    ) -> None:
        self._key_lookup = key_lookup
        self._redactor = redactor
        self._factory = factory
        self._http = provider_http_client()  # one pool for every client; aiohttp reads (see there)
        self._endpoints: Dict[str, Endpoint] = {}
        self._clients: Dict[str, Tuple[Endpoint, ChatProvider]] = {}
        # members' own keys (issue 19): one client per endpoint and key, the most recent kept
        self._own: "OrderedDict[Tuple[str, str], Tuple[Endpoint, ChatProvider]]" = OrderedDict()

    @property
    def endpoints(self) -> Mapping[str, Endpoint]:
        return self._endpoints

    def set_endpoints(self, endpoints: Mapping[str, Endpoint]) -> Set[str]:
        """Replace the endpoint table; returns the names of endpoints added, changed or removed
        (their clients are dropped)."""
        old, self._endpoints = self._endpoints, dict(endpoints)
        changed = {
            name for name in old.keys() | self._endpoints.keys() if old.get(name) != self._endpoints.get(name)
        }
        for name in changed & self._clients.keys():
            del self._clients[name]
        for key in [k for k in self._own if k[0] in changed]:
            del self._own[key]
        return changed

    def get(self, name: str) -> Endpoint:
        try:
            return self._endpoints[name]
        except KeyError:
            known = ", ".join(f"`{n}`" for n in self._endpoints) or _("none")
            raise UnknownEndpoint(
                _(
                    "There is no provider endpoint called `{name}` (configured: {known}). "
                    "The bot owner can add one with `[p]ai provider add`."
                ).format(name=name, known=known)
            ) from None

    async def provider(self, name: str) -> ChatProvider:
        """The client for endpoint ``name``; raises ``UnknownEndpoint`` or ``MissingKey``."""
        endpoint = self.get(name)
        cached = self._clients.get(name)
        if cached is not None:
            return cached[1]
        key = None
        if endpoint.token_service:
            key = await self._key_lookup(endpoint.token_service)
            if not key:
                raise MissingKey(missing_key_message(endpoint.name, endpoint.token_service))
            self._redactor.add(key)
        client = self._factory(endpoint, key, http_client=self._http)
        self._clients[name] = (endpoint, client)
        return client

    async def provider_with_key(self, name: str, key: str) -> ChatProvider:
        """A client for endpoint ``name`` using a member's own ``key`` (registered with the
        redactor; clients are cached by a hash of the key, never the key itself)."""
        endpoint = self.get(name)
        self._redactor.add(key)
        cache_key = (name, hashlib.sha256(key.encode()).hexdigest())
        cached = self._own.get(cache_key)
        if cached is not None and cached[0] == endpoint:
            self._own.move_to_end(cache_key)
            return cached[1]
        client = self._factory(endpoint, key, http_client=self._http)
        self._own[cache_key] = (endpoint, client)
        while len(self._own) > OWN_KEY_CLIENTS:
            self._own.popitem(last=False)  # the pool is shared: dropping a client closes nothing
        return client

    def explain(self, exc: BaseException, endpoint: str, model: str = "-") -> FriendlyError:
        """``errors.explain`` for a failure on ``endpoint``, naming its key's service and redacted."""
        known = self._endpoints.get(endpoint)
        service = known.token_service if known else None
        return explain(exc, endpoint=endpoint, model=model, redactor=self._redactor, service=service)

    def forget_service(self, service: str) -> None:
        """The key of ``service`` changed: rebuild the clients that use it on next use.

        Dropping a client is safe while it streams: the connection pool is shared, not closed.
        """
        for name, (endpoint, _client) in list(self._clients.items()):
            if endpoint.token_service == service:
                del self._clients[name]

    async def aclose(self) -> None:
        clients = [client for _, client in self._clients.values()] + [c for _, c in self._own.values()]
        self._clients.clear()
        self._own.clear()
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)
        await self._http.aclose()
