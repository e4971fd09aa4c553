"""The chat loop: build the context, stream the provider's answer, account for it, remember it."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import AsyncIterator, Dict, List, Optional, Tuple

from .accounting import ScopeKey, UsageLedger
from .diag.errorlog import ErrorLog
from .errors import InputTooLong, Redactor, SkynetError
from .events import ChatEvent, Done, Failed, TextDelta, Usage
from .memory import ASSISTANT, USER, ConversationMemory, Turn
from .pricing import PriceBook
from .providers.base import Finish, TokenUsage
from .providers.registry import ProviderRegistry
from .settings import ResolvedSettings
from .tokens import TokenCounter

log = logging.getLogger("red.skynet.chat")


@dataclass(frozen=True)
class ChatRequest:
    """Everything the engine needs to answer one message, as plain data."""

    text: str
    user_id: int
    user_name: str
    conversation: str  # memory key: "channel:<id>", "dm:<id>"...
    settings: ResolvedSettings
    usage_scopes: Tuple[ScopeKey, ...] = ()


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
    ) -> None:
        self.providers = providers
        self.memory = memory
        self.ledger = ledger
        self.counter = counter
        self.prices = prices  # replaced by the shell when the owner edits pricing
        self.redactor = redactor
        self.limits = limits
        self.errors = ErrorLog()  # recent failures, for [p]ai diag

    def build_messages(self, request: ChatRequest) -> List[Dict[str, str]]:
        history: List[Turn] = self.memory.history(request.conversation, max_tokens=self.limits.history_tokens)
        return [
            {"role": "system", "content": request.settings.system_prompt},
            *(turn.as_message() for turn in history),
            {"role": USER, "content": f"{request.user_name}: {request.text}"},
        ]

    async def run(self, request: ChatRequest) -> AsyncIterator[ChatEvent]:
        """Answer ``request``. Always ends with exactly one ``Done`` or ``Failed``."""
        model = request.settings.model
        parts: List[str] = []
        reported: Optional[TokenUsage] = None
        finish = "stop"
        messages: List[Dict[str, str]] = []
        try:
            tokens = self.counter.count(request.text)
            if tokens > self.limits.max_input_tokens:
                raise InputTooLong(
                    f"Your message is too long ({tokens} tokens; the limit is {self.limits.max_input_tokens}). "
                    "Please shorten it."
                )
            provider = await self.providers.provider(model.endpoint)
            messages = self.build_messages(request)
            stream = provider.stream_chat(model.name, messages, request.settings.params)
            try:
                async for part in stream:
                    if isinstance(part, TextDelta):
                        parts.append(part.text)
                        yield part
                    elif isinstance(part, TokenUsage):
                        reported = part
                    elif isinstance(part, Finish):
                        finish = part.reason
            finally:
                # Also when our consumer stops early: release the HTTP stream now, not at GC.
                await stream.aclose()
        except Exception as exc:  # every failure becomes a Failed event; CancelledError propagates
            yield self._failed(exc, request)
            if parts:  # tokens were spent on the partial answer
                self.ledger.record(
                    request.usage_scopes, self._usage(model.name, messages, "".join(parts), None)
                )
            return

        answer = "".join(parts)
        usage = self._usage(model.name, messages, answer, reported)
        self.ledger.record(request.usage_scopes, usage)
        yield usage
        if answer:
            self.memory.add(
                request.conversation, USER, request.text, user_id=request.user_id, name=request.user_name
            )
            self.memory.add(
                request.conversation, ASSISTANT, answer, user_id=request.user_id, name="assistant"
            )
        yield Done(answer, model.name, model.endpoint, finish)

    def _usage(
        self, model: str, messages: List[Dict[str, str]], answer: str, reported: Optional[TokenUsage]
    ) -> Usage:
        if reported is not None:
            prompt, completion, estimated = reported.prompt_tokens, reported.completion_tokens, False
        else:
            prompt, completion, estimated = (
                self.counter.count_messages(messages),
                self.counter.count(answer),
                True,
            )
        return Usage(prompt, completion, estimated, self.prices.cost(model, prompt, completion))

    def _failed(self, exc: Exception, request: ChatRequest) -> Failed:
        model = request.settings.model
        failure = self.providers.explain(exc, model.endpoint, model.name)
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


def _guild_of(request: ChatRequest) -> Optional[int]:
    """The server a request came from (its usage scopes name it), for the error log."""
    return next((int(s[1]) for s in request.usage_scopes if s and s[0] == "guild"), None)
