"""Long-term memory vectors in chromadb: embedded on disk by default, a Chroma server if configured.

chromadb is synchronous and slow to import (~1-2 s), so it is imported at first use and every
call runs in a worker thread (``asyncio.to_thread``), never on the event loop. Embeddings are
always passed in explicitly: chromadb's default embedder downloads a model at run time and is
never used (collections are created with ``embedding_function=None``).

One collection per embedding model (vectors of different models cannot be compared), named
``skynet-<hash of the model>``. Every record carries metadata used for scoping and deletion:
``kind`` (memory | doc), ``guild`` (a server id, or ``dm``), ``user`` (who said or added it),
``channel``, ``at`` (unix time), and for document chunks ``doc``, ``doc_name``, ``section``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

log = logging.getLogger("red.skynet.memory")

COLLECTION_PREFIX = "skynet-"
Where = Dict[str, Any]


@dataclass(frozen=True)
class BackendConfig:
    """Where vectors live: ``local`` (a folder) or ``server`` (host, port, ssl, token)."""

    kind: str = "local"
    host: str = "localhost"
    port: int = 8000
    ssl: bool = False

    def describe(self) -> str:
        if self.kind == "local":
            return "embedded chromadb in the cog's data folder"
        return f"Chroma server at {'https' if self.ssl else 'http'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Record:
    """One stored text with its metadata (and its distance to the query, for query results)."""

    id: str
    text: str
    meta: Mapping[str, Any]
    distance: Optional[float] = None


def collection_name(model: str) -> str:
    return COLLECTION_PREFIX + hashlib.sha1(model.encode()).hexdigest()[:16]


def where_all(**equal: Any) -> Where:
    """A chromadb filter requiring every ``key == value`` (chromadb wants ``$and`` for several)."""
    clauses = [{key: value} for key, value in equal.items() if value is not None]
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}


class VectorStore:
    """Async facade over one chromadb client. ``open()`` must succeed before anything else."""

    def __init__(self, backend: BackendConfig, path: Path, token: Optional[str] = None) -> None:
        self.backend = backend
        self.path = Path(path)
        self._token = token
        self._client: Any = None
        self._collections: Dict[str, Any] = {}

    @property
    def is_open(self) -> bool:
        return self._client is not None

    async def open(self) -> None:
        """Import chromadb and connect; raises if the folder is unusable or the server is down."""
        if self._client is None:
            self._client = await asyncio.to_thread(self._connect)

    def _connect(self) -> Any:
        import chromadb  # heavy: only when memory is first needed
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if self.backend.kind == "server":
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
            client = chromadb.HttpClient(
                host=self.backend.host,
                port=self.backend.port,
                ssl=self.backend.ssl,
                headers=headers,
                settings=settings,
            )
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(self.path), settings=settings)
        client.heartbeat()  # fails now, not at the first message, when the store is unusable
        client.list_collections()  # a corrupt database shows here
        return client

    async def close(self) -> None:
        client, self._client = self._client, None
        self._collections.clear()
        if client is not None and hasattr(client, "close"):
            try:
                await asyncio.to_thread(client.close)
            except Exception:  # closing is best effort
                pass

    def _collection(self, model: str) -> Any:
        name = collection_name(model)
        found = self._collections.get(name)
        if found is None:
            found = self._client.get_or_create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine", "model": model}
            )
            self._collections[name] = found
        return found

    def _all_collections(self) -> List[Any]:
        found = []
        for item in self._client.list_collections():
            name = item if isinstance(item, str) else item.name
            if name.startswith(COLLECTION_PREFIX):
                found.append(self._client.get_collection(name, embedding_function=None))
        return found

    # -- writes ---------------------------------------------------------------------------------

    async def add(
        self,
        model: str,
        ids: Sequence[str],
        texts: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metas: Sequence[Mapping[str, Any]],
    ) -> None:
        def add() -> None:
            self._collection(model).add(
                ids=list(ids),
                documents=list(texts),
                embeddings=[list(e) for e in embeddings],
                metadatas=[dict(m) for m in metas],
            )

        await asyncio.to_thread(add)

    async def delete(self, where: Where) -> int:
        """Delete matching records from every skynet collection; returns how many there were."""

        def delete() -> int:
            removed = 0
            for collection in self._all_collections():
                ids = collection.get(where=where, include=[])["ids"]
                if ids:
                    collection.delete(ids=ids)
                    removed += len(ids)
            return removed

        return await asyncio.to_thread(delete)

    async def delete_ids(self, ids: Sequence[str], where: Where) -> int:
        """Delete the records with ``ids`` that also match ``where`` (so nobody deletes others')."""

        def delete() -> int:
            removed = 0
            for collection in self._all_collections():
                found = collection.get(ids=list(ids), where=where, include=[])["ids"]
                if found:
                    collection.delete(ids=found)
                    removed += len(found)
            return removed

        return await asyncio.to_thread(delete)

    # -- reads ----------------------------------------------------------------------------------

    async def query(self, model: str, embedding: Sequence[float], where: Where, n: int) -> List[Record]:
        def query() -> List[Record]:
            collection = self._collection(model)
            result = collection.query(
                query_embeddings=[list(embedding)],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
            return [
                Record(i, text or "", meta or {}, dist)
                for i, text, meta, dist in zip(
                    result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
                )
            ]

        return await asyncio.to_thread(query)

    async def get(
        self, where: Where, *, all_models: bool = True, model: Optional[str] = None
    ) -> List[Record]:
        """Every record matching ``where`` (across all models' collections unless ``model``)."""

        def get() -> List[Record]:
            collections = [self._collection(model)] if model and not all_models else self._all_collections()
            records: List[Record] = []
            for collection in collections:
                result = collection.get(where=where, include=["documents", "metadatas"])
                records += [
                    Record(i, text or "", meta or {})
                    for i, text, meta in zip(result["ids"], result["documents"], result["metadatas"])
                ]
            records.sort(key=lambda r: r.meta.get("at", 0))
            return records

        return await asyncio.to_thread(get)

    async def count(self, where: Optional[Where] = None) -> int:
        def count() -> int:
            if where is None:
                return sum(c.count() for c in self._all_collections())
            return sum(len(c.get(where=where, include=[])["ids"]) for c in self._all_collections())

        return await asyncio.to_thread(count)
