"""The memory service: one object the chat engine and the commands talk to.

It ties together the conversation windows (and their write-behind store), compaction, the
chromadb vector store, embeddings, recall and documents, and it owns the rules: caps, scoping,
incognito, and what happens when a store is unavailable (chat goes on without recall, with one
warning in the log per outage, not one per message).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..diag.errorlog import ErrorLog
from ..errors import InvalidValue, Redactor, SkynetError, explain
from ..i18n import _
from ..providers.registry import ProviderRegistry
from ..settings import ModelRef
from ..tokens import TokenCounter
from . import recall as scoping
from .compaction import Compactor
from .documents import Chunk, parse_document
from .embeddings import Embedder
from .persistence import WindowStore
from .recall import DOC, MEMBER_SCOPE, MEMORY, SERVER_SCOPE, RecallLimits
from .vector import BackendConfig, Record, VectorStore
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


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:7]


class MemoryService:
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
    ) -> None:
        self.providers = providers
        self.counter = counter
        self.memory = memory
        self.data_path = Path(data_path)
        self.default_embedding = default_embedding
        self.options = options or MemoryOptions()
        self.limits = limits or RecallLimits()
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

    # -- long-term memories ---------------------------------------------------------------------

    def check_memory_text(self, text: str) -> str:
        text = " ".join(text.split())
        if not text:
            raise InvalidValue(_("Tell me what to remember, e.g. `[p]ai remember I prefer metric units`."))
        if len(text) > MAX_MEMORY_CHARS:
            raise InvalidValue(
                _(
                    "That is {length} characters; a memory can be at most {limit}. "
                    "Keep the fact short, or add a long text as a document with `[p]ai docs add`."
                ).format(length=len(text), limit=MAX_MEMORY_CHARS)
            )
        return text

    async def remember(
        self,
        text: str,
        *,
        guild_id: Optional[int],
        user_id: int,
        channel_id: Optional[int] = None,
        source: str = "command",
        scope: str = MEMBER_SCOPE,
    ) -> Record:
        """Store one fact. The ``remember`` tool and ``[p]ai remember`` both end here."""
        if user_id in self.incognito:
            raise InvalidValue(
                _("You are in incognito mode, so I'm not storing anything. `[p]ai incognito off` ends it.")
            )
        text = self.check_memory_text(text)
        store, model = await self._ready()
        place = scoping.memory_place(guild_id)
        mine = scoping.own_memories(user_id)
        if await store.count(mine, place) >= MAX_MEMORIES_PER_MEMBER:
            raise MemoryCapReached(
                _(
                    "You have {limit} memories here, the most I keep per member. "
                    "Forget some with `[p]ai memories forget <id>` (see `[p]ai memories list`) first."
                ).format(limit=MAX_MEMORIES_PER_MEMBER)
            )
        [vector] = await self._embed([text])
        meta: Dict[str, Any] = {
            "kind": MEMORY,
            "guild": scoping.place(guild_id),
            "user": str(user_id),
            "channel": str(channel_id or 0),
            "scope": scope if guild_id else MEMBER_SCOPE,
            "source": source,
            "at": time.time(),
        }
        record = Record(_new_id("m"), text, meta)
        await store.add(model, place, [record.id], [text], [vector], [meta])
        self._has_records = True
        return record

    async def list_memories(self, guild_id: Optional[int], user_id: int) -> List[Record]:
        store = await self.ensure_open()
        return await store.get(scoping.own_memories(user_id), scoping.memory_place(guild_id))

    async def search_memories(
        self, guild_id: Optional[int], user_id: int, text: str, n: int = 5
    ) -> List[Record]:
        store, model = await self._ready()
        [vector] = await self._embed([text])
        return await store.query(
            model, scoping.memory_place(guild_id), vector, scoping.own_memories(user_id), n
        )

    async def forget(self, guild_id: Optional[int], user_id: int, ids: Optional[Sequence[str]]) -> int:
        """Forget some (``ids``) or all (``None``) of a member's own memories here."""
        store = await self.ensure_open()
        where, place = scoping.own_memories(user_id), scoping.memory_place(guild_id)
        if ids is None:
            return await store.delete(where, place)
        return await store.delete_ids(ids, where, place)

    async def purge_member(self, guild_id: int, user_id: int) -> int:
        """An admin removes everything a member stored in this server (memories and documents)."""
        store = await self.ensure_open()
        place = scoping.place(guild_id)
        return await store.delete({"user": str(user_id)}, place)  # both its memories and documents

    async def memory_stats(self, guild_id: Optional[int]) -> Dict[str, int]:
        store = await self.ensure_open()
        return {
            "memories": await store.count(None, scoping.memory_place(guild_id)),
            "document_chunks": await store.count(None, scoping.doc_place(guild_id)),
        }

    # -- documents ------------------------------------------------------------------------------

    async def add_document(
        self, guild_id: int, user_id: int, name: str, data: bytes, kind: Optional[str] = None
    ) -> DocumentInfo:
        store, model = await self._ready()
        if len(await self.list_documents(guild_id)) >= MAX_DOCUMENTS_PER_SERVER:
            raise MemoryCapReached(
                _(
                    "This server has {limit} documents, the most I keep. "
                    "Remove one with `[p]ai docs remove <id>` first."
                ).format(limit=MAX_DOCUMENTS_PER_SERVER)
            )
        chunks: List[Chunk] = await asyncio.to_thread(parse_document, name, data, kind)
        vectors = await self._embed([f"{name} › {c.section}\n{c.text}" for c in chunks])
        doc_id, now = _new_id("d"), time.time()
        metas = [
            {
                "kind": DOC,
                "guild": scoping.place(guild_id),
                "user": str(user_id),
                "doc": doc_id,
                "doc_name": name[:100],
                "section": c.section[:100],
                "part": n,
                "at": now,
            }
            for n, c in enumerate(chunks)
        ]
        ids = [f"{doc_id}-{n}" for n in range(len(chunks))]
        for start in range(0, len(ids), 500):
            end = start + 500
            await store.add(
                model,
                scoping.doc_place(guild_id),
                ids[start:end],
                [c.text for c in chunks[start:end]],
                vectors[start:end],
                metas[start:end],
            )
        self._has_records = True
        return DocumentInfo(doc_id, name, len(chunks), user_id, now)

    async def list_documents(self, guild_id: int) -> List[DocumentInfo]:
        store = await self.ensure_open()
        found: Dict[str, DocumentInfo] = {}
        for record in await store.get(None, scoping.doc_place(guild_id)):
            meta = record.meta
            info = found.get(meta["doc"])
            chunks = info.chunks + 1 if info else 1
            found[meta["doc"]] = DocumentInfo(
                meta["doc"], meta["doc_name"], chunks, int(meta["user"]), meta["at"]
            )
        return sorted(found.values(), key=lambda d: d.at)

    async def remove_document(self, guild_id: int, doc_id: str) -> int:
        store = await self.ensure_open()
        return await store.delete({"doc": doc_id.strip()}, scoping.doc_place(guild_id))

    async def search_documents(self, guild_id: int, text: str, n: int = 4) -> List[Record]:
        store, model = await self._ready()
        [vector] = await self._embed([text])
        return await store.query(model, scoping.doc_place(guild_id), vector, None, n)

    # -- the chat engine's hooks ----------------------------------------------------------------

    def stores_turns(self, user_id: int) -> bool:
        """Whether this member's exchange may be written to the window (not in incognito)."""
        return user_id not in self.incognito

    async def context(
        self, text: str, *, guild_id: Optional[int], user_id: int, conversation: str
    ) -> Optional[str]:
        """The system block for one prompt: the conversation's summary and recalled memories."""
        parts: List[str] = []
        summary = self.memory.summary(conversation)
        if summary:
            parts.append(f"Summary of the earlier conversation here:\n{summary}")
        recalled = await self.recall(text, guild_id=guild_id, user_id=user_id)
        if recalled:
            parts.append(recalled)
        return "\n\n".join(parts) or None

    async def recall(self, text: str, *, guild_id: Optional[int], user_id: int) -> Optional[str]:
        """Memories and document passages for this prompt, or None. Never raises: without
        recall the answer is worse, not impossible."""
        if self._nothing_stored():
            return None  # nothing was ever stored
        if self._has_records is False:
            return None
        try:
            store, model = await self._ready()
            if not self._has_records:
                return None
            places = [scoping.memory_place(guild_id)] + ([scoping.doc_place(guild_id)] if guild_id else [])
            sizes = await store.sizes(model, places)
            if not any(sizes):
                return None  # nothing stored here: no embedding request either
            try:
                vector = await self.embedder().embed_one(text)
            except Exception as exc:
                raise EmbeddingFailed(f"{type(exc).__name__}: {str(exc)[:200]}") from None
            memories: List[Record] = []
            chunks: List[Record] = []
            if sizes[0]:
                where = scoping.memory_filter(guild_id, user_id)
                memories = await store.query(model, places[0], vector, where, self.limits.memories)
            if len(sizes) > 1 and sizes[1]:
                chunks = await store.query(model, places[1], vector, None, self.limits.chunks)
        except Exception as exc:
            if not self._warned:
                self._warned = True
                log.warning("Answering without long-term memory: %s: %s", type(exc).__name__, str(exc)[:200])
            if not isinstance(exc, (SkynetError, EmbeddingFailed)) and self.store is not None:
                # Reconnect (after RETRY_OPEN_SECONDS): a server back up, a new worker process.
                await self.reset_store()
                self._failed_at, self.unavailable = time.monotonic(), f"{type(exc).__name__}"
            return None
        if self._warned:
            log.info("Long-term memory recall works again.")
            self._warned = False
        budget = self.limits.tokens
        memories = scoping.within_budget(memories, budget // 2 if chunks else budget, self.counter.count)
        used = sum(self.counter.count(r.text) + 8 for r in memories)
        chunks = scoping.within_budget(chunks, budget - used, self.counter.count)
        return scoping.render(memories, chunks) or None

    def after_answer(self, conversation: str, model: ModelRef) -> None:
        """Fold overflowing turns into the summary, in the background, after the reply is done."""
        if self.options.compaction and self.compactor.due(conversation):
            chosen = self.options.compaction_model or model
            self._spawn(self.compactor.compact(conversation, chosen), "background:skynet-compaction")

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- data rights ------------------------------------------------------------------------------

    async def export_user(self, user_id: int) -> Dict[str, Any]:
        """The member's long-term memories and the documents they added (everywhere)."""
        if self._nothing_stored():
            return {"memories": [], "documents": []}
        store = await self.ensure_open()
        records = await store.get({"user": str(user_id)})
        memories = [
            {"id": r.id, "text": r.text, "server": r.meta.get("guild"), "at": r.meta.get("at")}
            for r in records
            if r.meta.get("kind") == MEMORY
        ]
        documents: Dict[str, Dict[str, Any]] = {}
        for r in records:
            if r.meta.get("kind") == DOC:
                doc = documents.setdefault(
                    r.meta["doc"],
                    {
                        "id": r.meta["doc"],
                        "name": r.meta.get("doc_name"),
                        "server": r.meta.get("guild"),
                        "chunks": [],
                    },
                )
                doc["chunks"].append({"section": r.meta.get("section"), "text": r.text})
        return {"memories": memories, "documents": list(documents.values())}

    async def delete_user(self, user_id: int) -> int:
        """Remove everything stored about ``user_id``: window turns, summaries, vectors."""
        self.memory.forget_user(user_id)
        await self.windows.flush()
        if self._nothing_stored():
            return 0
        store = await self.ensure_open()
        return await store.delete({"user": str(user_id)})


__all__ = [
    "MemoryService",
    "MemoryOptions",
    "MemoryUnavailable",
    "MemoryCapReached",
    "DocumentInfo",
    "SERVER_SCOPE",
]
