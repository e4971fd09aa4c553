"""chromadb operations, run either in a worker thread or in a separate worker process.

Why a process: chromadb's embedded (Rust) engine holds Python's GIL while it inserts and
searches, so even from a worker thread a 500-memory insert froze the bot's event loop for
~300 ms and each filtered search for ~20 ms. Run from a child process, that work no longer
competes with the bot for the GIL. The Chroma *server* client only does HTTP, so it runs in a
thread.

This file is standalone (it imports nothing from skynet) so the child can run it as a script
with the parent's ``sys.path``, wherever Red installed the cog: ``python chroma_worker.py``
reads length-prefixed pickled ``(operation, args)`` frames on stdin and answers
``(True, result)`` or ``(False, (error type, message))`` on its original stdout.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import sys
from typing import Any, Dict, List, Optional, Tuple

COLLECTION_PREFIX = "skynet-"
Row = Tuple[str, str, Dict[str, Any], Optional[float]]  # id, text, metadata, distance


def model_prefix(model: str) -> str:
    return COLLECTION_PREFIX + hashlib.sha1(model.encode()).hexdigest()[:16] + "-"


def collection_name(model: str, place: str) -> str:
    """One collection per embedding model and place (a server id, or ``dm``): a search only reads
    its own server's vectors, and stays fast however many servers the bot is in."""
    return model_prefix(model) + place


class ChromaOps:
    """Synchronous chromadb calls on one client; results are plain, picklable data."""

    def __init__(self) -> None:
        self.client: Any = None
        self.collections: Dict[str, Any] = {}

    def connect(self, kind: str, path: str, host: str, port: int, ssl: bool, token: Optional[str]) -> None:
        import chromadb  # heavy: only when memory is first needed
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if kind == "server":
            headers = {"Authorization": f"Bearer {token}"} if token else None
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers, settings=settings)
        else:
            os.makedirs(path, exist_ok=True)
            client = chromadb.PersistentClient(path=path, settings=settings)
        client.heartbeat()  # fails now, not at the first message, when the store is unusable
        client.list_collections()  # a corrupt database shows here
        self.client = client

    def close(self) -> None:
        self.collections.clear()
        self.client = None

    def _collection(self, model: str, place: str) -> Any:
        name = collection_name(model, place)
        found = self.collections.get(name)
        if found is None:
            found = self.client.get_or_create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine", "model": model}
            )
            self.collections[name] = found
        return found

    def sizes(self, model: str, places: List[str]) -> List[int]:
        """How many records each place holds (0 if its collection doesn't exist; none is created)."""
        found = []
        for place in places:
            name = collection_name(model, place)
            collection = self.collections.get(name)
            if collection is None:
                try:
                    collection = self.client.get_collection(name, embedding_function=None)
                except Exception:  # NotFoundError (its class moved between chromadb versions)
                    found.append(0)
                    continue
                self.collections[name] = collection
            found.append(collection.count())
        return found

    def _all(self, place: Optional[str] = None) -> List[Any]:
        """Every skynet collection (of every model), or those of one place."""
        found = []
        for item in self.client.list_collections():
            name = item if isinstance(item, str) else item.name
            if name.startswith(COLLECTION_PREFIX) and (place is None or name.endswith("-" + place)):
                found.append(
                    self.collections.get(name) or self.client.get_collection(name, embedding_function=None)
                )
        return found

    def add(
        self, model: str, place: str, ids: List[str], texts: List[str], embeddings: list, metas: list
    ) -> None:
        self._collection(model, place).add(ids=ids, documents=texts, embeddings=embeddings, metadatas=metas)

    def delete(self, where: dict, ids: Optional[List[str]] = None, place: Optional[str] = None) -> int:
        removed = 0
        for collection in self._all(place):
            found = collection.get(ids=ids, where=where, include=[])["ids"]
            if found:
                collection.delete(ids=found)
                removed += len(found)
        return removed

    def query(self, model: str, place: str, embedding: List[float], where: dict, n: int) -> List[Row]:
        collection = self._collection(model, place)
        result = collection.query(
            query_embeddings=[embedding],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (i, text or "", meta or {}, dist)
            for i, text, meta, dist in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
            )
        ]

    def query_with_vectors(
        self, model: str, place: str, embedding: List[float], where: dict, n: int
    ) -> Tuple[List[Row], List[List[float]]]:
        """Like :meth:`query`, with each record's vector (for diversity among the results)."""
        collection = self._collection(model, place)
        result = collection.query(
            query_embeddings=[embedding],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances", "embeddings"],
        )
        rows = [
            (i, text or "", meta or {}, dist)
            for i, text, meta, dist in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
            )
        ]
        vectors = [[float(x) for x in vector] for vector in (result["embeddings"] or [[]])[0]]
        return rows, vectors

    def update(self, model: str, place: str, ids: List[str], metas: list) -> None:
        """Replace the metadata of existing records (a fact superseded by a newer one)."""
        self._collection(model, place).update(ids=ids, metadatas=metas)

    def get(self, where: dict, place: Optional[str] = None) -> List[Row]:
        rows: List[Row] = []
        for collection in self._all(place):
            result = collection.get(where=where, include=["documents", "metadatas"])
            rows += [
                (i, text or "", meta or {}, None)
                for i, text, meta in zip(result["ids"], result["documents"], result["metadatas"])
            ]
        return rows

    def count(self, where: Optional[dict] = None, place: Optional[str] = None) -> int:
        if where is None:
            return sum(c.count() for c in self._all(place))
        return sum(len(c.get(where=where, include=[])["ids"]) for c in self._all(place))


# -- the worker process ------------------------------------------------------------------------

HEADER = struct.Struct(">I")


def read_frame(stream) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def encode_frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def serve() -> None:
    # The protocol owns the original stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source = sys.stdin.buffer
    ops = ChromaOps()
    while True:
        request = read_frame(source)
        if request is None or request[0] == "exit":
            return
        operation, args = request
        try:
            answer = (True, getattr(ops, operation)(*args))
        except Exception as exc:  # sent back and raised in the parent
            answer = (False, (type(exc).__name__, str(exc)[:500]))
        out.write(encode_frame(answer))
        out.flush()


if __name__ == "__main__":
    serve()
