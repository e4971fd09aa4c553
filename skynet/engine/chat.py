"""The chat loop: build the context, stream the provider's answer, account for it, remember it."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, List, Optional, Tuple

from .attachments.vision import VisionUnsupported, image_marker, supports_vision, user_content, vision_notice
from .channels.vault import OwnKey
from .diag.errorlog import ErrorLog
from .errors import InputTooLong, Redactor, SkynetError
from .events import ChatEvent, Done, Failed, ReasoningDelta, Status, TextDelta, ToolImages, Usage
from .i18n import _
from .memory import ASSISTANT, USER, ConversationMemory, Turn
from .providers.base import Finish, TokenUsage
from .providers.registry import ProviderRegistry
from .reliability import AttemptFailed, DeletionLedger, Reliability
from .reliability.failover import Trying
from .reliability.guards import check_visible
from .settings import ResolvedSettings
from .usage.accounting import ScopeKey, UsageLedger
from .usage.pricing import PriceBook
from .usage.series import SeriesLedger
from .usage.tokens import TokenCounter

if TYPE_CHECKING:
    from .memory.service import MemoryService

log = logging.getLogger("red.skynet.chat")

STOPPED = "stopped"  # Done.finish_reason of an answer a member stopped


@dataclass(frozen=True)
class ChatRequest:
    """Everything the engine needs to answer one message, as plain data."""

    text: str
    user_id: int
    user_name: str
    conversation: str  # memory key: "channel:<id>", "dm:<id>"...
    settings: ResolvedSettings
    usage_scopes: Tuple[ScopeKey, ...] = ()
    guild_id: Optional[int] = None
    channel_id: Optional[int] = None  # the channel whose settings apply (a thread's parent)
    reply_chain: Tuple[Turn, ...] = ()  # the replied-to messages, oldest first, ahead of the window
    images: Tuple[str, ...] = ()  # image URLs sent with the question (vision models), at most 4
    store: bool = True  # the storing gate's decision (skynet.engine.privacy.gate): False keeps nothing
    stop: Optional[asyncio.Event] = None  # set by the Stop button: end the answer where it is
    own_key: Optional[OwnKey] = None  # the member's own key for the model's endpoint: no fallbacks


@dataclass(frozen=True)
class ChatLimits:
    max_input_tokens: int = 4000  # one message; Discord allows 4000 characters with Nitro
    history_tokens: int = 3000  # recent conversation sent as context


class ChatEngine:
    """Answers :class:`ChatRequest` objects as a stream of :mod:`events <skynet.engine.events>`."""

    def __init__(
        self,
        providers: ProviderRegistry,
        memory: ConversationMemory,
        ledger: UsageLedger,
        counter: TokenCounter,
        prices: PriceBook,
        redactor: Redactor,
        limits: ChatLimits = ChatLimits(),
        reliability: Optional[Reliability] = None,
        deletions: Optional[DeletionLedger] = None,
    ) -> None:
        self.providers = providers
        self.memory = memory
        self.ledger = ledger
        self.counter = counter
        self.prices = prices  # replaced by the shell when the owner edits pricing
        self.redactor = redactor
        self.limits = limits
        self.tools: Optional[Any] = None  # a tools.loop.ToolLoop, set by the cog
        self.memory_service: Optional["MemoryService"] = None  # recall, summaries, incognito
        self.reliability = reliability or Reliability()  # retries, circuit breakers, failover
        self.deletions = deletions or DeletionLedger()  # every write-back checks it: deletion wins
        self.errors = ErrorLog()  # recent failures, for [p]ai diag
        self.vision_overrides: Dict[str, bool] = {}  # owner: "endpoint:model" -> sees images
        self.series: Optional[SeriesLedger] = None  # per-day usage and latencies (the panel)

    def build_messages(self, request: ChatRequest, recalled: Optional[str] = None) -> List[Dict[str, Any]]:
        chain = self._bounded_chain(request.reply_chain)
        budget = self.limits.history_tokens - sum(turn.tokens for turn in chain)
        history: List[Turn] = (
            self.memory.history(request.conversation, max_tokens=budget) if budget > 0 else []
        )
        return [
            {"role": "system", "content": request.settings.system_prompt},
            *([{"role": "system", "content": recalled}] if recalled else []),
            *(turn.as_message() for turn in chain),
            *(turn.as_message() for turn in history),
            {"role": USER, "content": user_content(f"{request.user_name}: {request.text}", request.images)},
        ]

    def _bounded_chain(self, chain: Tuple[Turn, ...]) -> List[Turn]:
        """The newest replied-to messages that fit the history token budget, oldest first."""
        kept: List[Turn] = []
        budget = self.limits.history_tokens
        for turn in reversed(chain):
            budget -= turn.tokens
            if budget < 0:
                break
            kept.append(turn)
        return kept[::-1]

    async def run(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """Answer ``request``. Always ends with exactly one ``Done`` or ``Failed``.

        Nothing is written back (usage, memory) if the member's data was deleted meanwhile.
        """
        model = request.settings.model
        answered = (model.endpoint, model.name)
        fallback: Optional[str] = None
        guard = self.deletions.guard(request.user_id)
        parts: List[str] = []
        thoughts: List[str] = []  # reasoning: never answer text, never remembered; counted
        stop = request.stop
        reported: Optional[TokenUsage] = None
        images: List[Any] = []  # images tools returned, attached to the reply
        finish = "stop"
        messages: List[Dict[str, Any]] = []
        started, first_text = time.perf_counter(), None
        try:
            check_visible(request.text)
            if request.images and supports_vision(model.endpoint, model.name, self.vision_overrides) is False:
                raise VisionUnsupported(vision_notice(model.name))  # before any provider call
            tokens = self.counter.count(request.text)
            if tokens > self.limits.max_input_tokens:
                raise InputTooLong(
                    _(
                        "Your message is too long ({tokens} tokens; the limit is {limit}). Please shorten it."
                    ).format(tokens=tokens, limit=self.limits.max_input_tokens)
                )
            recalled = None
            if self.memory_service is not None:
                recalled = await self.memory_service.context(
                    request.text,
                    guild_id=request.guild_id,
                    user_id=request.user_id,
                    conversation=request.conversation,
                )
            messages = self.build_messages(request, recalled)
            stream = self.reliability.stream(self._chain(request), self._attempt(request, messages))
            try:
                async for part in stream:
                    if stop is not None and stop.is_set():
                        finish = STOPPED  # the member pressed Stop: close the stream, keep what was shown
                        break
                    if isinstance(part, TextDelta):
                        if first_text is None:
                            first_text = time.perf_counter() - started
                        parts.append(part.text)
                        yield part
                    elif isinstance(part, ReasoningDelta):
                        thoughts.append(part.text)
                        yield part
                    elif isinstance(part, Status):
                        yield part
                    elif isinstance(part, ToolImages):
                        images.extend(part.images)
                    elif isinstance(part, Trying):
                        answered = (part.endpoint, part.model)
                        fallback = _("answered by {model} because {reason}").format(
                            model=f"{part.endpoint}:{part.model}", reason=part.because
                        )
                    elif isinstance(part, TokenUsage):
                        reported = part
                    elif isinstance(part, Finish):
                        finish = part.reason
            finally:
                # Also when our consumer stops early: release the HTTP stream now, not at GC.
                await stream.aclose()
        except asyncio.CancelledError:  # the cog is unloading: count what was already generated
            if (parts or reported is not None) and guard.allowed:
                self.ledger.record(
                    request.usage_scopes,
                    self._usage(answered[1], messages, "".join(parts), reported, "".join(thoughts)),
                )
            raise
        except Exception as exc:  # every failure becomes a Failed event
            if (parts or reported is not None) and guard.allowed:  # tokens spent: partial answer, tool steps
                partial = self._usage(answered[1], messages, "".join(parts), reported, "".join(thoughts))
                self.ledger.record(request.usage_scopes, partial)
                self._chart(request, answered[1], partial, failed=True)
                yield partial  # so budgets charge it too
            elif guard.allowed:
                self._chart(request, answered[1], None, failed=True, refused=isinstance(exc, _REFUSALS))
            yield self._failed(exc, request)
            return

        answer = "".join(parts)
        usage = self._usage(answered[1], messages, answer, reported, "".join(thoughts))
        if guard.allowed:
            self.ledger.record(request.usage_scopes, usage)
            self._chart(request, answered[1], usage, first_text=first_text, complete=time.perf_counter() - started)
        yield usage
        remember = request.store and (
            self.memory_service is None or self.memory_service.stores_turns(request.user_id)
        )
        if answer and remember and guard.allowed:
            self.memory.add(
                request.conversation,
                USER,
                image_marker(request.text, request.images),  # memory keeps text only, never images
                user_id=request.user_id,
                name=request.user_name,
            )
            self.memory.add(
                request.conversation, ASSISTANT, answer, user_id=request.user_id, name="assistant"
            )
            if self.memory_service is not None:
                self.memory_service.after_answer(request.conversation, model)
        yield Done(answer, answered[1], answered[0], finish, fallback, images=tuple(images[:4]))

    def _chart(
        self,
        request: ChatRequest,
        model: str,
        usage: Optional[Usage],
        *,
        first_text: Optional[float] = None,
        complete: Optional[float] = None,
        failed: bool = False,
        refused: bool = False,
    ) -> None:
        """Count the request in the per-day series (under the member only if their usage scope
        is there: incognito requests count for the server alone)."""
        if self.series is None:
            return
        if refused:
            self.series.refused(guild_id=request.guild_id, user_id=None)
            return
        personal = any(scope[0] in ("member", "user") for scope in request.usage_scopes)
        self.series.answered(
            guild_id=request.guild_id,
            channel_id=request.channel_id,
            user_id=request.user_id if personal else None,
            model=model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            cost_usd=usage.cost_usd if usage else None,
            first_text=first_text,
            complete=complete,
            failed=failed,
        )

    @staticmethod
    def _chain(request: ChatRequest) -> List[Tuple[str, str]]:
        """The model, then its fallbacks: tried in order while one is unavailable."""
        model = request.settings.model
        chain = [(model.endpoint, model.name)]
        if request.own_key is not None:  # the member pays: never fail over to the owner's keys
            return chain
        return chain + [(ref.endpoint, ref.name) for ref in request.settings.fallbacks if ref != model]

    def _attempt(self, request: ChatRequest, messages: List[Dict[str, Any]]):
        """One try on one model: the function-calling loop when tools exist, else a plain stream."""

        async def attempt(endpoint: str, name: str) -> AsyncIterator[Any]:
            own = request.own_key
            if own is not None and own.endpoint == endpoint:
                provider = await self.providers.provider_with_key(endpoint, own.secret)
            else:
                provider = await self.providers.provider(endpoint)
            if self.tools is not None:
                stream = self.tools.stream(provider, name, messages, request.settings.params, request)
            else:
                stream = provider.stream_chat(name, messages, request.settings.params)
            try:
                async for part in stream:
                    yield part
            finally:
                await stream.aclose()

        return attempt

    def _usage(
        self,
        model: str,
        messages: List[Dict[str, str]],
        answer: str,
        reported: Optional[TokenUsage],
        thought: str = "",
    ) -> Usage:
        if reported is not None:
            prompt, completion, estimated = reported.prompt_tokens, reported.completion_tokens, False
            reasoning = reported.reasoning_tokens or (self.counter.count(thought) if thought else 0)
        else:  # reasoning is output the provider bills: estimated with the answer
            reasoning = self.counter.count(thought) if thought else 0
            prompt, completion, estimated = (
                self.counter.count_messages(messages),
                self.counter.count(answer) + reasoning,
                True,
            )
        return Usage(prompt, completion, estimated, self.prices.cost(model, prompt, completion), reasoning)

    def _failed(self, exc: Exception, request: ChatRequest) -> Failed:
        endpoint, name = request.settings.model.endpoint, request.settings.model.name
        tried: tuple = ()
        if isinstance(exc, AttemptFailed):
            endpoint, name, tried, exc = exc.endpoint, exc.model, exc.tried, exc.cause
        failure = self.providers.explain(exc, endpoint, name)
        if len(tried) > 1:  # the chain moved on: name the fallbacks tried (never the model itself)
            fallbacks = ", ".join(f"`{ref}`" for ref in tried[1:])
            failure = type(failure)(
                failure.kind,
                _("{message} (Fallbacks tried: {fallbacks}.)").format(
                    message=failure.message, fallbacks=fallbacks
                ),
                failure.detail,
            )
        if failure.kind == "unexpected":
            log.error(
                "Unexpected failure: %s", self.redactor.redact("".join(traceback.format_exception(exc)))
            )
        elif isinstance(exc, SkynetError):
            log.info("Request refused: %s", failure.detail)
        else:
            log.warning("Provider failure (%s): %s", failure.kind, failure.detail)
        self.errors.record(failure.kind, failure.message, failure.detail, _guild_of(request))
        return Failed(failure.kind, failure.message)


# Requests refused for what they contain (not failures of the provider or the bot).
_REFUSALS = (InputTooLong, VisionUnsupported)


def _guild_of(request: ChatRequest) -> Optional[int]:
    """The server a request came from (its usage scopes name it), for the error log."""
    return next((int(s[1]) for s in request.usage_scopes if s and s[0] == "guild"), None)
