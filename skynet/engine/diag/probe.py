"""Probe every endpoint at once: reachable? how fast? is its key set (never the key itself)?"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, List, Optional

from ..errors import MissingKey
from ..i18n import _
from ..providers.registry import ProviderRegistry, missing_key_message

PROBE_TIMEOUT = 5.0  # seconds per endpoint; all endpoints are probed concurrently

KeyIsSet = Callable[[str], Awaitable[bool]]  # token service -> is an api_key stored?


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    base_url: str
    token_service: Optional[str]
    key_set: Optional[bool]  # None: this endpoint needs no key
    reachable: bool
    latency_ms: Optional[float]  # time to list its models, when it answered
    models: Optional[int]  # how many models it lists
    problem: Optional[str]  # the friendly explanation when it did not answer (redacted)


async def probe_endpoint(
    registry: ProviderRegistry,
    name: str,
    key_is_set: KeyIsSet,
    *,
    timeout: float = PROBE_TIMEOUT,
    clock: Callable[[], float] = time.perf_counter,
) -> EndpointStatus:
    endpoint = registry.get(name)
    key_set = await key_is_set(endpoint.token_service) if endpoint.token_service else None
    start = clock()
    try:
        if key_set is False:
            raise MissingKey(missing_key_message(name, endpoint.token_service))
        provider = await registry.provider(name)
        models = await asyncio.wait_for(provider.list_models(), timeout)
    except Exception as exc:  # any failure is a finding, explained the way users see it
        if isinstance(exc, asyncio.TimeoutError):
            problem = _("No answer within {seconds} s.").format(seconds=f"{timeout:g}")
        else:
            problem = registry.explain(exc, name).message
        return EndpointStatus(
            name, endpoint.base_url, endpoint.token_service, key_set, False, None, None, problem
        )
    latency = (clock() - start) * 1000
    return EndpointStatus(
        name, endpoint.base_url, endpoint.token_service, key_set, True, latency, len(models), None
    )


async def probe_all(
    registry: ProviderRegistry, key_is_set: KeyIsSet, *, timeout: float = PROBE_TIMEOUT
) -> List[EndpointStatus]:
    """Every configured endpoint, probed concurrently, in name order."""
    names = sorted(registry.endpoints)
    return list(
        await asyncio.gather(*(probe_endpoint(registry, n, key_is_set, timeout=timeout) for n in names))
    )
