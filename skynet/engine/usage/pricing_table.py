"""Prices from a maintained table: the ``genai-prices`` package (data shipped with it, offline).

Never fetches anything: the bundled snapshot is the table. Loading it costs about half a second
(import + parsing), so the cog loads it in a background thread after ``[p]load``; until then,
and on Python < 3.11 where the package is not installed, prices come from the owner's overrides
and the hand-written table in :mod:`.pricing`. Lookups are cached per (provider, model).
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlparse

from .pricing import Price

log = logging.getLogger("red.skynet.pricing")

# genai-prices provider ids by API host, for endpoints whose owner did not name one.
PROVIDER_HOSTS = {
    "api.openai.com": "openai",
    "openrouter.ai": "openrouter",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.mistral.ai": "mistral",
    "api.x.ai": "x-ai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
    "api.fireworks.ai": "fireworks",
    "api.cerebras.ai": "cerebras",
    "api.perplexity.ai": "perplexity",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
    "api.novita.ai": "novita",
}


def infer_provider(base_url: str) -> Optional[str]:
    """The genai-prices provider id for an endpoint's base URL, or None (local servers...)."""
    host = (urlparse(base_url).hostname or "").lower()
    if host in PROVIDER_HOSTS:
        return PROVIDER_HOSTS[host]
    for known, provider in PROVIDER_HOSTS.items():  # regional hosts: eu.api.openai.com...
        if host.endswith("." + known):
            return provider
    return None


# Priced on a small request and scaled: a million tokens would select the long-context tier
# some models have (e.g. above 200k input tokens).
_SAMPLE_TOKENS = 1000
_SCALE = 1_000_000 // _SAMPLE_TOKENS


class PriceTable:
    """genai-prices' bundled data behind a small, cached, thread-safe lookup."""

    def __init__(self) -> None:
        self._module: Any = None
        self._usage: Any = None
        self._providers: Dict[str, bool] = {}
        self._cache: Dict[Tuple[Optional[str], str], Optional[Price]] = {}
        self._lock = threading.Lock()
        self.error: Optional[str] = None  # why the table is unavailable, if it is

    @property
    def loaded(self) -> bool:
        return self._module is not None

    def load(self) -> bool:
        """Import genai-prices and parse its data (blocking, ~0.5 s: call it in a thread)."""
        if self._module is not None:
            return True
        try:
            import genai_prices
            from genai_prices import data_snapshot

            data_snapshot.get_snapshot()  # parse the bundled data now, not on the first reply
            self._usage = genai_prices.Usage(input_tokens=_SAMPLE_TOKENS, output_tokens=_SAMPLE_TOKENS)
            self._module = genai_prices
            return True
        except Exception as exc:  # not installed (Python < 3.11) or incompatible: fall back
            self.error = f"{type(exc).__name__}: {exc}"
            log.info("genai-prices unavailable, using the built-in price table: %s", self.error)
            return False

    def version(self) -> Optional[str]:
        return getattr(self._module, "__version__", None) if self._module else None

    def has_provider(self, provider_id: str) -> bool:
        """Whether genai-prices knows ``provider_id`` (True when the table is not loaded yet)."""
        if self._module is None:
            return True
        if provider_id not in self._providers:
            snapshot = self._module.data_snapshot.get_snapshot()
            self._providers[provider_id] = any(p.id == provider_id for p in snapshot.providers)
        return self._providers[provider_id]

    def price(self, model: str, provider_id: Optional[str]) -> Optional[Price]:
        """USD per 1M input/output tokens of ``model`` at ``provider_id`` (None: let the table
        guess the provider from the model name), or None if unknown or not loaded."""
        if self._module is None or not model:
            return None
        key = (provider_id, model.strip().lower())
        cached = self._cache.get(key, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        with self._lock:
            price = self._compute(key[1], provider_id)
            self._cache[key] = price
        return price

    def _compute(self, model: str, provider_id: Optional[str]) -> Optional[Price]:
        try:
            found = self._module.calc_price(self._usage, model, provider_id=provider_id)
        except LookupError:
            return None
        except Exception as exc:  # a bad data entry must not break accounting
            log.warning("genai-prices could not price %s at %s: %s", model, provider_id, exc)
            return None
        return Price(_float(found.input_price) * _SCALE, _float(found.output_price) * _SCALE)


def _float(value: Decimal) -> float:
    return float(value)
