"""The memory service: one object the chat engine and the commands talk to.

It ties together the conversation windows (and their write-behind store), compaction, the
chromadb vector store, embeddings, recall and documents, and it owns the rules: caps, scoping,
incognito, and what happens when a store is unavailable (chat goes on without recall, with one
warning in the log per outage, not one per message).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List, Optional, Sequence

from ..errors import InvalidValue, SkynetError
from ..i18n import _
from ..settings import ModelRef
from . import keeper
from . import recall as scoping
from .documents import Chunk, parse_document
from .history import FactHistory, histories, ids_to_forget
from .keeper import Remembered
from .outages import maps_store_failures
from .recall import DOC, MEMBER_SCOPE, MEMORY, SERVER_SCOPE
from .selection import render_memories
from .store_access import (  # noqa: F401 (re-exported: the service's public names)
    MAX_DOCUMENTS_PER_SERVER,
    MAX_MEMORIES_PER_MEMBER,
    MAX_MEMORY_CHARS,
    DocumentInfo,
    EmbeddingFailed,
    MemoryCapReached,
    MemoryOptions,
    MemoryStoreAccess,
    MemoryUnavailable,
    _new_id,
    log,
)
from .vector import Record


class MemoryService(MemoryStoreAccess):
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

    @maps_store_failures
    async def remember(
        self,
        text: str,
        *,
        guild_id: Optional[int],
        user_id: int,
        channel_id: Optional[int] = None,
        source: str = "command",
        scope: str = MEMBER_SCOPE,
    ) -> Remembered:
        """Store one fact, or update the member's fact it replaces, or nothing when it repeats
        one (see :mod:`.keeper`). The ``remember`` tool and ``[p]ai remember`` both end here."""
        self.check_storing(user_id, guild_id, channel_id)
        text = self.check_memory_text(text)
        store, model = await self._ready()
        place = scoping.memory_place(guild_id)
        mine = scoping.own_memories(user_id)
        if await store.count(mine, place) >= MAX_MEMORIES_PER_MEMBER:  # earlier versions count too
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
        remembered = await keeper.remember(store, model, place, text, vector, meta, self.judge)
        self._has_records = True
        return remembered

    def check_storing(self, user_id: int, guild_id: Optional[int], channel_id: Optional[int] = None) -> None:
        """Ask the storing gate (incognito, consent, excluded channel) before writing anything."""
        if user_id in self.incognito:
            raise InvalidValue(
                _("You are in incognito mode, so I'm not storing anything. `[p]ai incognito off` ends it.")
            )
        if self.gate is not None and not self.gate.may_store(user_id, guild_id=guild_id, channel_id=channel_id):
            raise InvalidValue(
                _("Nothing of yours is stored here (consent not given, or a channel where nothing is kept).")
            )

    @maps_store_failures
    async def list_memories(self, guild_id: Optional[int], user_id: int) -> List[Record]:
        store = await self.ensure_open()
        return await store.get(scoping.own_memories(user_id), scoping.memory_place(guild_id))

    async def memory_histories(self, guild_id: Optional[int], user_id: int) -> List[FactHistory]:
        """The member's facts here, each with its earlier versions (see :mod:`.history`)."""
        return histories(await self.list_memories(guild_id, user_id))

    @maps_store_failures
    async def search_memories(
        self, guild_id: Optional[int], user_id: int, text: str, n: int = 5
    ) -> List[Record]:
        store, model = await self._ready()
        [vector] = await self._embed([text])
        return await store.query(
            model, scoping.memory_place(guild_id), vector, scoping.own_memories(user_id), n
        )

    @maps_store_failures
    async def forget(self, guild_id: Optional[int], user_id: int, ids: Optional[Sequence[str]]) -> int:
        """Forget some (``ids``) or all (``None``) of a member's own memories here."""
        store = await self.ensure_open()
        where, place = scoping.own_memories(user_id), scoping.memory_place(guild_id)
        if ids is None:
            return await store.delete(where, place)
        # A current fact goes with its earlier versions; an earlier version's id removes just it.
        chosen = ids_to_forget(await store.get(where, place), ids)
        if not chosen:
            return 0
        return await store.delete_ids(chosen, where, place)

    @maps_store_failures
    async def purge_member(self, guild_id: int, user_id: int) -> int:
        """An admin removes everything a member stored in this server (memories and documents)."""
        store = await self.ensure_open()
        place = scoping.place(guild_id)
        return await store.delete({"user": str(user_id)}, place)  # both its memories and documents

    @maps_store_failures
    async def memory_stats(self, guild_id: Optional[int]) -> Dict[str, int]:
        store = await self.ensure_open()
        return {
            "memories": await store.count(None, scoping.memory_place(guild_id)),
            "document_chunks": await store.count(None, scoping.doc_place(guild_id)),
        }

    # -- documents ------------------------------------------------------------------------------

    @maps_store_failures
    async def add_document(
        self, guild_id: int, user_id: int, name: str, data: bytes, kind: Optional[str] = None
    ) -> DocumentInfo:
        self.check_storing(user_id, guild_id)
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

    @maps_store_failures
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

    @maps_store_failures
    async def remove_document(self, guild_id: int, doc_id: str) -> int:
        store = await self.ensure_open()
        return await store.delete({"doc": doc_id.strip()}, scoping.doc_place(guild_id))

    @maps_store_failures
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
                memories = await keeper.recall(store, model, places[0], vector, where, text, self.selection)
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
        lines = render_memories(memories)
        passages = scoping.render([], chunks)
        if passages:
            lines += ([""] if lines else []) + [passages]
        return "\n".join(lines) or None

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

    @maps_store_failures
    async def export_user(self, user_id: int) -> Dict[str, Any]:
        """The member's long-term memories and the documents they added (everywhere)."""
        if self._nothing_stored():
            return {"memories": [], "documents": []}
        store = await self.ensure_open()
        records = await store.get({"user": str(user_id)})
        memories = [
            {
                "id": r.id,
                "text": r.text,
                "server": r.meta.get("guild"),
                "at": r.meta.get("at"),
                "status": r.meta.get("status", "current"),  # superseded: an earlier version
                "fact": r.meta.get("fact", r.id),  # the versions of one fact share this
                **{key: r.meta[key] for key in ("superseded_at", "replaced_by") if key in r.meta},
            }
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

    @maps_store_failures
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
