"""Model prices (USD per 1M tokens) and the arithmetic/formatting around them.

Lookups accept dated snapshots (``gpt-4o-2024-08-06``) and OpenRouter-style provider prefixes
(``openai/gpt-4o``) so one entry covers a model family; owners override or add prices per model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Dict, Mapping, Optional, Protocol, Sequence, Tuple

from ..i18n import _

# A prefix key only matches at one of these boundaries, so "gpt-4o" covers "gpt-4o-2024-08-06"
# and "openai/gpt-4o:online" but a future "gpt-4o5" or "gpt-5.1" is unknown rather than mispriced.
_PREFIX_BOUNDARIES = ("-", ":", "@")

MAX_PRICE_PER_MILLION = 1000.0


@dataclass(frozen=True)
class Price:
    """USD per one million input (prompt) and output (completion) tokens."""

    input_per_million: float
    output_per_million: float

    def __post_init__(self) -> None:
        for value in (self.input_per_million, self.output_per_million):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"A price must be a finite number >= 0, got {value!r}.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for a request; negative token counts are treated as zero."""
        return (
            max(0, prompt_tokens) * self.input_per_million
            + max(0, completion_tokens) * self.output_per_million
        ) / 1_000_000


# OpenAI public list prices (standard tier, text tokens, uncached input), per 1M tokens, as
# known in 2025-08 (after the o3 price cut and the GPT-5 launch). Prices change: owners can
# override any model, and models not listed here have an unknown cost until they do.
DEFAULT_PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "gpt-5": Price(1.25, 10.00),
        "gpt-5-mini": Price(0.25, 2.00),
        "gpt-5-nano": Price(0.05, 0.40),
        "gpt-4.1": Price(2.00, 8.00),
        "gpt-4.1-mini": Price(0.40, 1.60),
        "gpt-4.1-nano": Price(0.10, 0.40),
        "gpt-4o": Price(2.50, 10.00),
        "gpt-4o-mini": Price(0.15, 0.60),
        "gpt-4-turbo": Price(10.00, 30.00),
        "gpt-3.5-turbo": Price(0.50, 1.50),
        "o1": Price(15.00, 60.00),
        "o1-mini": Price(1.10, 4.40),
        "o3": Price(2.00, 8.00),
        "o3-mini": Price(1.10, 4.40),
        "o4-mini": Price(1.10, 4.40),
        # Pricier variants that would otherwise inherit a cheaper family prefix above.
        "gpt-5-pro": Price(15.00, 120.00),
        "gpt-4o-2024-05-13": Price(5.00, 15.00),
        "gpt-4o-realtime-preview": Price(5.00, 20.00),
        "gpt-4o-mini-realtime-preview": Price(0.60, 2.40),
        "o1-pro": Price(150.00, 600.00),
        "o3-pro": Price(20.00, 80.00),
        "o3-deep-research": Price(10.00, 40.00),
        "o4-mini-deep-research": Price(2.00, 8.00),
    }
)


def _normalize(model: str) -> str:
    return model.strip().lower()


TABLE_SOURCE = "genai-prices"


class PriceSource(Protocol):
    """A maintained price table (``pricing_table.PriceTable``: genai-prices' data)."""

    @property
    def loaded(self) -> bool: ...

    def price(self, model: str, provider_id: Optional[str]) -> Optional[Price]: ...


class PriceBook:
    """Resolves a model name to a price: owner overrides first, then the maintained table
    (genai-prices, for the providers of the configured endpoints), then the built-in defaults."""

    def __init__(
        self,
        overrides: Optional[Mapping[str, Price]] = None,
        defaults: Mapping[str, Price] = DEFAULT_PRICES,
        table: Optional["PriceSource"] = None,
        providers: Sequence[str] = (),
    ) -> None:
        self._tables: Tuple[Tuple[str, Dict[str, Price]], ...] = (
            ("override", {_normalize(k): v for k, v in (overrides or {}).items()}),
            ("default", {_normalize(k): v for k, v in defaults.items()}),
        )
        self._table = table
        self._providers = tuple(dict.fromkeys(providers))  # genai-prices ids, most likely first
        self._cache: Dict[str, Optional[Tuple[Price, str]]] = {}

    def use_table(self, table: Optional["PriceSource"], providers: Sequence[str]) -> None:
        """Price from ``table`` for ``providers`` (the configured endpoints' provider ids)."""
        self._table, self._providers = table, tuple(dict.fromkeys(providers))
        self._cache.clear()

    def _lookup(self, model: str) -> Optional[Tuple[Price, str]]:
        """Cached per model: this runs for every reply."""
        key = _normalize(model or "")
        if key in self._cache:
            return self._cache[key]
        found = self._resolve(model)
        if self._table is None or self._table.loaded:  # a table still loading may know more later
            self._cache[key] = found
        return found

    def _from_table(self, name: str) -> Optional[Price]:
        if self._table is None or not self._table.loaded:
            return None
        for provider in self._providers:
            price = self._table.price(name, provider)
            if price is not None:
                return price
        return None

    def _resolve(self, model: str) -> Optional[Tuple[Price, str]]:
        found = self._hand_written(model)
        if found is not None and found[1] == "override":
            return found
        table_price = self._from_table(_normalize(model or ""))
        if table_price is not None:
            return table_price, TABLE_SOURCE
        return found

    def _hand_written(self, model: str) -> Optional[Tuple[Price, str]]:
        name = _normalize(model or "")
        if not name:
            return None
        # "openai/gpt-4o" (OpenRouter) is looked up as itself, then as "gpt-4o".
        candidates = [name]
        if "/" in name:
            candidates.append(name.rsplit("/", 1)[1])
        for source, table in self._tables:
            for candidate in candidates:
                if candidate in table:
                    return table[candidate], source
        # Longest prefix across both tables wins (so an override for "gpt-4o" does not reprice
        # "gpt-4o-mini-..."); on equal length the override wins since it is checked first.
        best: Optional[Tuple[int, Price, str]] = None
        for source, table in self._tables:
            for key, price in table.items():
                for candidate in candidates:
                    if (
                        len(candidate) > len(key)
                        and candidate.startswith(key)
                        and candidate[len(key)] in _PREFIX_BOUNDARIES
                        and (best is None or len(key) > best[0])
                    ):
                        best = (len(key), price, source)
        return (best[1], best[2]) if best else None

    def price_for(self, model: str) -> Optional[Price]:
        """The price for ``model``, or None when it is unknown."""
        found = self._lookup(model)
        return found[0] if found else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> Optional[float]:
        """USD for a request to ``model``, or None when its price is unknown."""
        price = self.price_for(model)
        return price.cost(prompt_tokens, completion_tokens) if price else None

    def source(self, model: str) -> str:
        """Where ``model``'s price comes from: ``"override"``, ``"genai-prices"``, ``"default"``
        or ``"unknown"``."""
        found = self._lookup(model)
        return found[1] if found else "unknown"


def format_cost(usd: Optional[float]) -> str:
    """Human-readable USD: ``$12.35``, ``$0.50``, ``$0.0012``, ``<$0.0001``, ``unknown``."""
    if usd is None or not math.isfinite(usd):
        return _("unknown")
    if usd < 0:
        return "-" + format_cost(-usd)
    if usd == 0:
        return "$0.00"
    if usd < 0.0001:
        return "<$0.0001"
    if usd >= 1:
        return f"${usd:,.2f}"
    # Sub-dollar amounts keep 4 decimals so small requests stay visible, minus padding zeros.
    text = f"{usd:.4f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return "$" + (text + "0" * (2 - decimals) if decimals < 2 else text)


def parse_price(text: str) -> float:
    """Parse an owner-typed USD-per-1M-tokens price such as ``2.5`` or ``$2.50``.

    Raises ValueError with a message fit to show the owner.
    """
    cleaned = str(text).strip().lstrip("$").strip()
    try:
        if "_" in cleaned:  # float() accepts "2_5" as 25; an owner typing that meant something else
            raise ValueError
        value = float(cleaned)
    except ValueError:
        raise ValueError(
            _("{value} is not a number. Give the USD price per 1M tokens, e.g. `2.50`.").format(
                value=repr(text)
            )
        ) from None
    if not math.isfinite(value):
        raise ValueError(_("The price must be a regular number, not infinity or NaN."))
    if value < 0:
        raise ValueError(_("The price can't be negative."))
    if value > MAX_PRICE_PER_MILLION:
        raise ValueError(
            _(
                "That's over {limit} per 1M tokens; "
                "prices are per million tokens, not per token. Please check the value."
            ).format(limit=f"${MAX_PRICE_PER_MILLION:,.0f}")
        )
    return value
