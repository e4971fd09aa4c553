"""The memory service's foundation: its options and errors, and the vector store it opens on
first use (embedded or a Chroma server), retries after an outage and embeds for.

:class:`~.service.MemoryService` builds the memory rules (caps, scoping, recall, documents, data
rights) on top of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Set, Tuple

from ..diag.errorlog import ErrorLog
from ..errors import Redactor, SkynetError, explain
from ..i18n import _
from ..providers.registry import ProviderRegistry
from ..settings import ModelRef
from ..usage.tokens import TokenCounter
from .compaction import Compactor
from .embeddings import Embedder
from .persistence import WindowStore
from .recall import RecallLimits
from .revision import FactJudge
from .selection import SelectionLimits
from .vector import BackendConfig, VectorStore
from .windows import ConversationMemory

log = logging.getLogger("red.skynet.memory")

MAX_MEMORY_CHARS = 1000
MAX_MEMORIES_PER_MEMBER = 500
MAX_DOCUMENTS_PER_SERVER = 50
RETRY_OPEN_SECONDS = 30.0


class MemoryUnavailable(SkynetError):
    kind = "memory_unavailable"


class EmbeddingFailed(Exception):
    """The embeddings endpoint failed while recalling (the store itself is fine)."""


class MemoryCapReached(SkynetError):
    kind = "memory_cap"


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    name: str
    chunks: int
    user_id: int
    at: float


@dataclass
class MemoryOptions:
    """Owner settings (global), loaded by the shell from Config."""

    backend: BackendConfig = field(default_factory=BackendConfig)
    embedding_model: Optional[ModelRef] = None  # None: text-embedding-3-small on the default endpoint
    compaction_model: Optional[ModelRef] = None  # None: the conversation's own chat model
    compaction: bool = True
    judge: bool = True  # ask a model whether a new fact updates or repeats one (rules otherwise)
    judge_model: Optional[ModelRef] = None  # None: the compaction model, else the global chat model


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:7]


class MemoryStoreAccess:
    """Opens the vector store when first needed and keeps the service's parts together."""

    def __init__(
        self,
        providers: ProviderRegistry,
        counter: TokenCounter,
        memory: ConversationMemory,
        data_path: Path,
        *,
        default_embedding: Callable[[], ModelRef],
        options: Optional[MemoryOptions] = None,
        limits: Optional[RecallLimits] = None,
        errors: Optional[ErrorLog] = None,
        redactor: Optional[Redactor] = None,
        default_chat: Optional[Callable[[], Optional[ModelRef]]] = None,
    ) -> None:
        self.providers = providers
        self.counter = counter
        self.memory = memory
        self.data_path = Path(data_path)
        self.default_embedding = default_embedding
        self.options = options or MemoryOptions()
        self.limits = limits or RecallLimits()
        self.selection = SelectionLimits()  # how many recalled memories a prompt carries
        self.default_chat = default_chat or (lambda: None)
        self.judge = FactJudge(providers, self.judge_model)  # the shell sets judge.on_usage
        # Shared with the chat engine's, for [p]ai diag (an empty log is falsy: no `or` here).
        self.errors = errors if errors is not None else ErrorLog()
        self.redactor = redactor or Redactor()
        self.windows = WindowStore(memory, self.data_path / "windows.sqlite3")
        self.compactor = Compactor(providers, memory)
        memory.keep_overflow = self.options.compaction
        self.incognito: Set[int] = set()
        self.chroma_token: Optional[str] = None
        self.store: Optional[VectorStore] = None
        self.unavailable: Optional[str] = None  # why long-term memory can't be used right now
        self._failed_at = 0.0
        self._has_records: Optional[bool] = None
        self._warned = False  # one warning per outage of recall
        self._open_lock = asyncio.Lock()
        self._tasks: Set[asyncio.Task] = set()
        self._local_exists = False
        self._open_warned = False

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def chroma_path(self) -> Path:
        return self.data_path / "chroma"

    def _nothing_stored(self) -> bool:
        """True while no local store exists yet (so chromadb need not even be imported). No I/O:
        the folder's existence is checked once at start, and the store creates it."""
        return self.store is None and self.options.backend.kind == "local" and not self._local_exists

    async def start(self) -> None:
        self._local_exists = await asyncio.to_thread(self.chroma_path.exists)
        await self.windows.load()
        self.windows.start()

    def warm_up(self) -> None:
        """Open an existing long-term store in the background, so a broken one is reported early."""
        if self._nothing_stored():
            return  # nothing stored yet: chromadb is not even imported until the first memory
        self._spawn(self._open_quietly(), "background:skynet-memory-open")

    async def _open_quietly(self) -> None:
        try:
            await self.ensure_open()
        except MemoryUnavailable:
            pass

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.windows.stop()
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def set_backend(self, backend: BackendConfig) -> None:
        """Switch where vectors live; the next use connects to the new place."""
        self.options.backend = backend
        await self.reset_store()

    async def reset_store(self) -> None:
        if self.store is not None:
            await self.store.close()
        self.store, self.unavailable, self._has_records, self._failed_at = None, None, None, 0.0

    def set_compaction(self, enabled: bool) -> None:
        self.options.compaction = enabled
        self.memory.keep_overflow = enabled
        if not enabled:
            self.memory.overflow.clear()

    # -- the vector store ---------------------------------------------------------------------

    async def ensure_open(self) -> VectorStore:
        """The open vector store, or :class:`MemoryUnavailable` saying why not."""
        if self.store is not None and self.store.is_open:
            return self.store
        async with self._open_lock:
            if self.store is not None and self.store.is_open:
                return self.store
            if self.unavailable and time.monotonic() - self._failed_at < RETRY_OPEN_SECONDS:
                raise self._unavailable_error()
            store = VectorStore(self.options.backend, self.chroma_path, self.chroma_token)
            try:
                await store.open()
                self._has_records = (await store.count()) > 0
            except BaseException as exc:
                await store.close()  # never leave a worker process behind
                if not isinstance(exc, Exception):
                    raise
                self._failed_at = time.monotonic()
                self.unavailable = f"{type(exc).__name__}: {str(exc)[:200]}"
                if not self._open_warned:  # once per outage, not at every retry
                    self._open_warned = True
                    log.warning(
                        "Long-term memory is unavailable (%s): %s",
                        self.options.backend.describe(),
                        self.unavailable,
                    )
                raise self._unavailable_error() from None
            if self._open_warned:
                log.info("Long-term memory is available again (%s).", self.options.backend.describe())
            self.store, self.unavailable, self._open_warned = store, None, False
            self._local_exists = True
            return store

    def _unavailable_error(self) -> MemoryUnavailable:
        return MemoryUnavailable(
            _(
                "Long-term memory is unavailable right now (its store could not be opened), so I can't "
                "remember or search memories. Chat still works. The bot owner can check "
                "`[p]ai memory backend show` and the bot's log."
            )
        )

    def embedding_model(self) -> ModelRef:
        return self.options.embedding_model or self.default_embedding()

    def state(self) -> str:
        """Where long-term memory lives and whether it is open, in the reader's language."""
        backend = self.options.backend.label()
        if self.unavailable:
            return _("{backend} — unavailable ({reason})").format(backend=backend, reason=self.unavailable)
        if self.store is not None:
            return _("{backend} — connected").format(backend=backend)
        return _("{backend} — not opened yet (opens at first use)").format(backend=backend)

    def describe(self) -> str:
        """:meth:`state` and the embeddings model, for ``[p]ai diag``."""
        return _("{state}; embeddings by `{model}`").format(state=self.state(), model=self.embedding_model())

    def judge_model(self) -> Optional[ModelRef]:
        """The model that decides whether a new fact updates or repeats one, or None (rules)."""
        if not self.options.judge:
            return None
        return self.options.judge_model or self.options.compaction_model or self.default_chat()

    def embedder(self) -> Embedder:
        return Embedder(self.providers, self.embedding_model())

    async def _embed(self, texts: Sequence[str]) -> List[List[float]]:
        try:
            return await self.embedder().embed(texts)
        except SkynetError:
            raise
        except Exception as exc:
            model = self.embedding_model()
            failure = explain(exc, endpoint=model.endpoint, model=model.name, redactor=self.redactor)
            log.warning("Embedding failed: %s", failure.detail)
            if failure.kind == "unknown_model":  # retrying can't help: say who can fix it
                message = _(
                    "The embeddings model `{model}` isn't available on **{endpoint}**, so I can't store or "
                    "search memories. The bot owner can pick another with `[p]ai memory embeddings`."
                ).format(model=model.name, endpoint=model.endpoint)
            elif failure.kind == "bad_key":
                message = failure.message
            else:
                message = _(
                    "The embeddings model `{model}` didn't answer, so I can't store or search memories right now. "
                    "Please try again later; the bot owner can pick another with `[p]ai memory embeddings`."
                ).format(model=model)
            self.errors.record(f"memory_{failure.kind}", message, failure.detail)
            raise MemoryUnavailable(message) from None

    async def _ready(self) -> Tuple[VectorStore, str]:
        store = await self.ensure_open()
        return store, self.embedder().key
