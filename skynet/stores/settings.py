"""Settings: Red ``Config`` is the store of record, read once into memory.

The hot path resolves settings from this in-process copy; every write goes to Config first and
then refreshes the copy, so the two never disagree and no message waits on storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from redbot.core import Config

from ..engine.providers.base import Endpoint
from ..engine.settings import Layer, ModelRef, ResolvedSettings, resolve
from ..engine.usage.pricing import Price, PriceBook
from .config import DEFAULT_MODEL

GLOBAL, GUILD, CHANNEL = "global", "guild", "channel"


@dataclass(frozen=True)
class Scope:
    """Where a setting is stored: ``global``, a ``guild`` id or a ``channel`` id."""

    kind: str
    id: Optional[int] = None


class SettingsStore:
    """Cached view over the cog's Config for models, parameters, endpoints and pricing."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._global: Dict[str, Any] = {}
        self._guilds: Dict[int, Dict[str, Any]] = {}
        self._channels: Dict[int, Dict[str, Any]] = {}

    async def load(self) -> None:
        self._global = await self._config.all()
        self._guilds = await self._config.all_guilds()
        self._channels = await self._config.all_channels()

    # -- reading (no I/O) -------------------------------------------------------------------

    def _scope_data(self, scope: Scope) -> Mapping[str, Any]:
        if scope.kind == GLOBAL:
            return self._global
        table = self._guilds if scope.kind == GUILD else self._channels
        return table.get(scope.id, {})

    def layer(self, scope: Scope) -> Layer:
        data = self._scope_data(scope)
        fallbacks = data.get("fallbacks")
        chain = None if fallbacks is None else tuple(filter(None, map(ModelRef.from_json, fallbacks)))
        return Layer(
            scope.kind, ModelRef.from_json(data.get("model")), dict(data.get("params") or {}), chain
        )

    def layers(self, guild_id: Optional[int], channel_id: Optional[int]) -> List[Layer]:
        """Most specific first: channel, server, global."""
        scopes = []
        if channel_id is not None:
            scopes.append(Scope(CHANNEL, channel_id))
        if guild_id is not None:
            scopes.append(Scope(GUILD, guild_id))
        scopes.append(Scope(GLOBAL))
        return [self.layer(scope) for scope in scopes]

    def resolve(self, guild_id: Optional[int], channel_id: Optional[int]) -> ResolvedSettings:
        return resolve(self.layers(guild_id, channel_id), ModelRef.from_json(DEFAULT_MODEL))

    @property
    def endpoints(self) -> Dict[str, Endpoint]:
        return {
            name: Endpoint.from_json(name, data) for name, data in self._global.get("endpoints", {}).items()
        }

    def price_overrides(self) -> Dict[str, Price]:
        return {model: Price(*pair) for model, pair in self._global.get("pricing", {}).items()}

    def vision_overrides(self) -> Dict[str, bool]:
        """``"endpoint:model"`` (lower case) -> whether it takes images, set by the owner."""
        return dict(self._global.get("vision", {}))

    async def set_vision(self, key: str, sees: Optional[bool]) -> None:
        overrides = self.vision_overrides()
        if sees is None:
            overrides.pop(key, None)
        else:
            overrides[key] = sees
        await self._set(Scope(GLOBAL), "vision", overrides)

    def answer_bounds(self) -> Mapping[str, Any]:
        """The owner's caps on one answer (``ai answers``; see ``delivery/bounds.py``)."""
        return self._global.get("answer_bounds") or {}

    async def set_answer_bounds(self, bounds: Mapping[str, Any]) -> None:
        await self._set(Scope(GLOBAL), "answer_bounds", dict(bounds))

    def price_book(self) -> PriceBook:
        return PriceBook(self.price_overrides())

    # -- writing (Config first, then the cache) -------------------------------------------------

    def _group(self, scope: Scope):
        if scope.kind == GLOBAL:
            return self._config
        if scope.kind == GUILD:
            return self._config.guild_from_id(scope.id)
        return self._config.channel_from_id(scope.id)

    async def _set(self, scope: Scope, key: str, value: Any) -> None:
        await self._group(scope).set_raw(key, value=value)
        if scope.kind == GLOBAL:
            self._global[key] = value
        else:
            table = self._guilds if scope.kind == GUILD else self._channels
            table.setdefault(scope.id, {})[key] = value

    async def set_model(self, scope: Scope, model: Optional[ModelRef]) -> None:
        if scope.kind == GLOBAL and model is None:
            model = ModelRef.from_json(DEFAULT_MODEL)
        await self._set(scope, "model", model.to_json() if model else None)

    async def set_fallbacks(self, scope: Scope, chain: Optional[List[ModelRef]]) -> None:
        """The ordered fallback models at ``scope``; None removes them (the next scope's apply)."""
        await self._set(scope, "fallbacks", None if chain is None else [ref.to_json() for ref in chain])

    async def set_param(self, scope: Scope, name: str, value: Any) -> None:
        params = dict(self._scope_data(scope).get("params") or {})
        params[name] = value
        await self._set(scope, "params", params)

    async def reset_params(self, scope: Scope, name: Optional[str] = None) -> List[str]:
        """Remove one parameter (or all) at ``scope``; returns the names that were removed."""
        params = dict(self._scope_data(scope).get("params") or {})
        removed = [n for n in params if name is None or n == name]
        for n in removed:
            del params[n]
        if removed:
            await self._set(scope, "params", params)
        return removed

    async def set_endpoint(self, endpoint: Endpoint) -> None:
        endpoints = dict(self._global.get("endpoints", {}))
        endpoints[endpoint.name] = endpoint.to_json()
        await self._set(Scope(GLOBAL), "endpoints", endpoints)

    async def remove_endpoint(self, name: str) -> bool:
        endpoints = dict(self._global.get("endpoints", {}))
        if endpoints.pop(name, None) is None:
            return False
        await self._set(Scope(GLOBAL), "endpoints", endpoints)
        return True

    async def set_price(self, model: str, price: Optional[Price]) -> None:
        pricing = dict(self._global.get("pricing", {}))
        if price is None:
            pricing.pop(model, None)
        else:
            pricing[model] = [price.input_per_million, price.output_per_million]
        await self._set(Scope(GLOBAL), "pricing", pricing)

    def models_using(self, endpoint: str) -> List[Scope]:
        """Scopes whose model (or a fallback) points at ``endpoint`` (so removing it can be refused)."""

        def uses(data: Mapping[str, Any]) -> bool:
            refs = [data.get("model") or {}, *(data.get("fallbacks") or [])]
            return any((ref or {}).get("endpoint") == endpoint for ref in refs)

        found = [Scope(GLOBAL)] if uses(self._global) else []
        for kind, table in ((GUILD, self._guilds), (CHANNEL, self._channels)):
            found += [Scope(kind, i) for i, d in table.items() if uses(d)]
        return found

    # -- tools (switches per scope, owner's tool configuration) -----------------------------------

    def tool_switches(self, guild_id: Optional[int], channel_id: Optional[int]) -> List[Mapping[str, bool]]:
        """Tool on/off switches, most specific first: channel, server, global."""
        scopes = [Scope(CHANNEL, channel_id)] if channel_id is not None else []
        scopes += [Scope(GUILD, guild_id)] if guild_id is not None else []
        return [self._scope_data(scope).get("tools") or {} for scope in scopes + [Scope(GLOBAL)]]

    async def set_tool_switch(
        self, scope: Scope, name: str, enabled: Optional[bool], *, only: bool = False
    ) -> None:
        """Switch ``name`` on/off at ``scope`` (None removes the switch); ``only`` drops the others."""
        switches = {} if only else dict(self._scope_data(scope).get("tools") or {})
        if enabled is None:
            switches.pop(name, None)
        else:
            switches[name] = enabled
        await self._set(scope, "tools", switches)

    @property
    def tool_config(self) -> Mapping[str, Any]:
        return self._global.get("tool_config") or {}

    async def set_tool_config(self, key: str, value: Any) -> None:
        await self._set(Scope(GLOBAL), "tool_config", {**self.tool_config, key: value})
