"""Answer from an ordered chain of models: retry, wait out rate limits, fail over, never repeat text.

Before the first token is shown a failure may be retried (the policy decides how often and how
long to wait) or handed to the next model of the chain. Once text was shown nothing is retried:
the failure ends the reply with a note, because a second answer would contradict the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable, List, Optional, Sequence, Tuple, Union

from ..events import Status, TextDelta
from ..i18n import _
from ..providers.base import Finish, StreamPart
from .circuit import CircuitOpen, Circuits
from .retry import RetryPolicy, Verdict, classify

Attempt = Callable[[str, str], AsyncIterator[StreamPart]]  # (endpoint, model) -> parts
Sleep = Callable[[float], Awaitable[None]]


def because(endpoint: str, kind: str) -> str:
    """Why ``endpoint`` was given up, as the end of "answered by … because …" (kind: a verdict's)."""
    reasons = {
        "rate_limited": _("{endpoint} was rate-limiting requests"),
        "quota": _("{endpoint} was out of credit"),
        "provider_down": _("{endpoint} was unavailable"),
        "timeout": _("{endpoint} did not answer in time"),
        "circuit_open": _("{endpoint} was unavailable"),
        "missing_key": _("{endpoint} has no API key set"),
        "stream_cut": _("{endpoint} broke off"),
    }
    return reasons.get(kind, _("{endpoint} failed")).format(endpoint=endpoint)


@dataclass(frozen=True)
class Trying:
    """The chain moved on: ``endpoint:model`` answers now, ``because`` says why the previous did not."""

    endpoint: str
    model: str
    because: str


class AttemptFailed(Exception):
    """The request failed for good on ``endpoint:model``; ``cause`` is the failure to explain.

    ``shown``: text of the answer had already been shown (the reply keeps it and ends with a note).
    ``tried``: every ``endpoint:model`` attempted, in order.
    """

    def __init__(self, endpoint: str, model: str, cause: BaseException, tried: Tuple[str, ...], shown: bool):
        super().__init__(f"{endpoint}:{model}: {type(cause).__name__}")
        self.endpoint, self.model, self.cause, self.tried, self.shown = endpoint, model, cause, tried, shown


def busy_status(endpoint: str, verdict: Verdict, wait: float) -> str:
    seconds = f"{wait:.0f}"
    if verdict.kind == "rate_limited":
        return _("⏳ The provider is busy, retrying in {seconds} s…").format(seconds=seconds)
    return _("⏳ **{endpoint}** is having trouble, retrying in {seconds} s…").format(
        endpoint=endpoint, seconds=seconds
    )


@dataclass
class Reliability:
    """The policy, the breakers and the clock; ``stream`` runs one request through a chain."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    circuits: Circuits = field(default_factory=Circuits)
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    async def stream(
        self, chain: Sequence[Tuple[str, str]], attempt: Attempt
    ) -> AsyncIterator[Union[StreamPart, Status, Trying]]:
        """Yield the parts of the first model of ``chain`` that answers, plus ``Status`` lines while
        waiting and a ``Trying`` whenever the chain moves on. Raises :class:`AttemptFailed`."""
        policy = self.policy
        deadline = self.clock() + policy.deadline
        tried: List[str] = []
        last: Optional[Tuple[str, str, BaseException]] = None
        for position, (endpoint, model) in enumerate(chain):
            if position and last is not None:
                verdict = classify(last[2])
                yield Trying(endpoint, model, because(last[0], verdict.kind))
            breaker = self.circuits.get(endpoint)
            if not breaker.allow():
                last = (
                    endpoint,
                    model,
                    CircuitOpen(
                        _(
                            "**{endpoint}** failed repeatedly, so requests to it are paused for "
                            "{seconds} s. Please try again then."
                        ).format(endpoint=endpoint, seconds=f"{breaker.retry_in():.0f}")
                    ),
                )
                tried.append(f"{endpoint}:{model}")
                continue
            tried.append(f"{endpoint}:{model}")
            retries = 0
            while True:
                shown = False
                failure: Optional[BaseException] = None
                stream = attempt(endpoint, model)
                pending: Optional[asyncio.Future] = None
                announced = False
                try:
                    iterator = stream.__aiter__()
                    while True:
                        if shown or announced:
                            # The common case, once per chunk: no timer, no task.
                            try:
                                part = await iterator.__anext__()
                            except StopAsyncIteration:
                                break
                        else:
                            # Nothing shown yet: wait for the next part with a timer, so a slow
                            # provider gets a "still waiting" line (a task only until then).
                            pending = asyncio.ensure_future(iterator.__anext__())
                            done, _waiting = await asyncio.wait({pending}, timeout=policy.status_after)
                            if not done:  # no feedback for a while: say we are still waiting
                                announced = True
                                yield Status(
                                    _("⏳ Waiting for **{endpoint}** to answer…").format(endpoint=endpoint)
                                )
                            try:
                                part = await pending
                            except StopAsyncIteration:
                                break
                            finally:
                                pending = None
                        if isinstance(part, (TextDelta, Status, Finish)) and not shown:
                            # Text the member is reading, or a tool step starting (its status
                            # line comes from the attempt itself): never re-run either.
                            shown = not isinstance(part, Finish)
                            breaker.record_success()
                        yield part
                    breaker.record_success()
                    return
                except asyncio.CancelledError:
                    breaker.release()
                    raise
                except Exception as exc:  # noqa: BLE001 - every provider failure is sorted below
                    failure = exc
                finally:
                    if pending is not None and not pending.done():
                        pending.cancel()
                        with contextlib.suppress(BaseException):
                            await pending
                    await stream.aclose()
                verdict = classify(failure)
                last = (endpoint, model, failure)
                wait = None
                if not shown and verdict.retry and retries + 1 < policy.max_attempts:
                    wait = policy.wait_for(retries, verdict.retry_after, self.rng)
                    if wait is not None and self.clock() + wait > deadline:
                        wait = None
                if wait is None:  # this model is given up: one failure per request, not per retry
                    if verdict.endpoint_fault:
                        breaker.record_failure()
                    else:
                        breaker.release()
                if shown:  # never re-run an answer the member has started reading
                    raise AttemptFailed(endpoint, model, failure, tuple(tried), True) from failure
                if not verdict.failover and not verdict.retry:  # a refusal: another try changes nothing
                    raise AttemptFailed(endpoint, model, failure, tuple(tried), False) from failure
                if wait is None:
                    if not verdict.failover:
                        raise AttemptFailed(endpoint, model, failure, tuple(tried), False) from failure
                    break  # give this model up: next in the chain, or fail
                if wait >= policy.status_after:
                    yield Status(busy_status(endpoint, verdict, wait))
                await self.sleep(wait)
                retries += 1
            if self.clock() >= deadline:
                break
        assert last is not None
        endpoint, model, cause = last
        raise AttemptFailed(endpoint, model, cause, tuple(tried), False) from cause
