"""The models each endpoint serves, cached so slash autocomplete answers instantly."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from .registry import ProviderRegistry

AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices


class ModelCatalog:
    """Per-endpoint model lists with a time-to-live."""

    def __init__(
        self, providers: ProviderRegistry, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._providers = providers
        self._ttl = ttl
        self._clock = clock
        self._cache: Dict[str, Tuple[float, List[str]]] = {}
        self._listed_at: Dict[str, float] = {}  # wall-clock time of each endpoint's last list
        self._inflight: Dict[str, "asyncio.Task[List[str]]"] = {}

    def cached(self, endpoint: str) -> Optional[List[str]]:
        """The last list fetched for ``endpoint`` (even if stale), or ``None``."""
        entry = self._cache.get(endpoint)
        return entry[1] if entry else None

    def listed_at(self, endpoint: str) -> Optional[float]:
        """When (epoch seconds) the cached list of ``endpoint`` was fetched, or ``None``."""
        return self._listed_at.get(endpoint)

    async def models(self, endpoint: str, *, refresh: bool = False) -> List[str]:
        """The model ids of ``endpoint``, fetched when missing, stale or ``refresh`` is asked.

        Concurrent callers share one request. Provider errors propagate (``errors.explain``).
        """
        entry = self._cache.get(endpoint)
        if entry and not refresh and self._clock() - entry[0] < self._ttl:
            return entry[1]
        task = self._inflight.get(endpoint)
        if task is None:
            task = self._inflight[endpoint] = asyncio.ensure_future(self._fetch(endpoint))
            task.add_done_callback(lambda _: self._inflight.pop(endpoint, None))
        return await asyncio.shield(task)

    async def _fetch(self, endpoint: str) -> List[str]:
        provider = await self._providers.provider(endpoint)
        models = await provider.list_models()
        self._cache[endpoint] = (self._clock(), models)
        self._listed_at[endpoint] = time.time()
        return models

    def forget(self, endpoint: str) -> None:
        self._cache.pop(endpoint, None)
        self._listed_at.pop(endpoint, None)

    def suggest(self, current: str, endpoints: Iterable[str], default_endpoint: str) -> List[str]:
        """Autocomplete choices from the cache: ``model`` on the default endpoint, else ``endpoint:model``."""
        needle = current.strip().lower()
        choices: List[str] = []
        for endpoint in endpoints:
            for model in self.cached(endpoint) or ():
                ref = model if endpoint == default_endpoint else f"{endpoint}:{model}"
                if needle in ref.lower():
                    choices.append(ref)
        choices.sort(key=lambda ref: (not ref.lower().startswith(needle), ref))
        return choices[:AUTOCOMPLETE_LIMIT]
