"""Compaction: turns pushed out of a window are folded into a rolling summary by the model.

The compactor runs after an answer is complete (never on the way to the first token), once at
least ``threshold`` turns are waiting, so a busy channel costs one summary call every few
messages. A cheap model can be set for it. If the call fails the turns wait for the next try.
"""

from __future__ import annotations

import logging
from typing import Dict, List

from ..events import TextDelta
from ..providers.registry import ProviderRegistry
from ..settings import ModelRef
from .windows import ConversationMemory, Turn

log = logging.getLogger("red.skynet.memory")

SUMMARY_PROMPT = (
    "You maintain the running summary of a chat conversation for an assistant with a short memory. "
    "Merge the previous summary and the new messages into one updated summary of at most {words} words: "
    "keep facts, names, decisions, open questions and who said what; drop chit-chat. "
    "Write only the summary."
)
MAX_WAITING = 60  # turns kept for a retry when the summary call keeps failing


class Compactor:
    def __init__(
        self, providers: ProviderRegistry, memory: ConversationMemory, *, threshold: int = 6, words: int = 200
    ) -> None:
        self.providers = providers
        self.memory = memory
        self.threshold = threshold
        self.words = words
        self.runs = 0

    def due(self, conversation: str) -> bool:
        return len(self.memory.overflow.get(conversation, ())) >= self.threshold

    async def compact(self, conversation: str, model: ModelRef) -> bool:
        """Fold the waiting turns of ``conversation`` into its summary; returns whether it did."""
        if not self.due(conversation):
            return False
        folded = self.memory.take_overflow(conversation)
        try:
            text = await self.summarise(self.memory.summary(conversation), folded, model)
        except Exception as exc:  # the provider may be down: keep the turns for next time
            log.warning("Could not summarise the conversation %s: %s", conversation, type(exc).__name__)
            waiting = folded + self.memory.overflow.get(conversation, [])
            self.memory.overflow[conversation] = waiting[-MAX_WAITING:]
            return False
        if text.strip():
            self.memory.set_summary(conversation, text.strip(), folded)
        self.runs += 1
        return True

    async def summarise(self, previous: str, turns: List[Turn], model: ModelRef) -> str:
        provider = await self.providers.provider(model.endpoint)
        transcript = "\n".join(f"{t.name if t.role == 'user' else 'assistant'}: {t.content}" for t in turns)
        messages: List[Dict[str, str]] = [
            {"role": "system", "content": SUMMARY_PROMPT.format(words=self.words)},
            {
                "role": "user",
                "content": f"Previous summary:\n{previous or '(none)'}\n\nNew messages:\n{transcript}",
            },
        ]
        parts: List[str] = []
        # The summary rides on every later request of the conversation: a model that ignores the
        # length asked for (found in bench/soak.py with an echo model: the summary grew with each
        # compaction until requests took seconds) is cut at twice that length, and not read further.
        limit, spaces = 2 * self.words, 0
        stream = provider.stream_chat(model.name, messages, {})
        try:
            async for part in stream:
                if isinstance(part, TextDelta):
                    parts.append(part.text)
                    spaces += part.text.count(" ") + part.text.count("\n")  # words, roughly
                    if spaces > limit and len("".join(parts).split()) > limit:
                        break
        finally:
            await stream.aclose()
        text = "".join(parts)
        cut = text.split()
        return text if len(cut) <= limit else " ".join(cut[:limit]) + " …"
