"""Long-term memory vectors in chromadb: embedded on disk by default, a Chroma server if configured.

chromadb is synchronous and slow to import (~1-2 s), so it is imported at first use and no call
ever runs on the event loop: the embedded store runs in a worker *process* (its engine holds the
GIL while it works, see :mod:`.chroma_worker`), the server client in a worker thread. Embeddings
are always passed in explicitly: chromadb's default embedder downloads a model at run time and is
never used (collections are created with ``embedding_function=None``).

One collection per embedding model (vectors of different models cannot be compared), named
``skynet-<hash of the model>``. Every record carries metadata used for scoping and deletion:
``kind`` (memory | doc), ``guild`` (a server id, or ``dm``), ``user`` (who said or added it),
``channel``, ``at`` (unix time), and for document chunks ``doc``, ``doc_name``, ``section``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..i18n import _
from . import chroma_worker
from .chroma_worker import HEADER, ChromaOps, encode_frame

log = logging.getLogger("red.skynet.memory")

Where = Dict[str, Any]


@dataclass(frozen=True)
class BackendConfig:
    """Where vectors live: ``local`` (a folder) or ``server`` (host, port, ssl, token)."""

    kind: str = "local"
    host: str = "localhost"
    port: int = 8000
    ssl: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}"

    def describe(self) -> str:
        """For the log (always English)."""
        if self.kind == "local":
            return "embedded chromadb in the cog's data folder"
        return f"Chroma server at {self.url}"

    def label(self) -> str:
        """:meth:`describe` in the reader's language, for replies."""
        if self.kind == "local":
            return _("embedded chromadb in the cog's data folder")
        return _("Chroma server at {url}").format(url=self.url)


@dataclass(frozen=True)
class Record:
    """One stored text with its metadata (and its distance to the query, for query results)."""

    id: str
    text: str
    meta: Mapping[str, Any]
    distance: Optional[float] = None


def where_all(**equal: Any) -> Where:
    """A chromadb filter requiring every ``key == value`` (chromadb wants ``$and`` for several)."""
    clauses = [{key: value} for key, value in equal.items() if value is not None]
    if len(clauses) == 1:
        return clauses[0]
    return {"$and": clauses}


class StoreError(Exception):
    """chromadb failed (in the worker), or the worker itself is gone."""


class _ThreadRunner:
    """Runs :class:`ChromaOps` calls in worker threads (the server client: HTTP releases the GIL)."""

    def __init__(self) -> None:
        self.ops = ChromaOps()

    async def start(self) -> None:
        pass

    async def call(self, operation: str, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self.ops, operation), *args)
        except Exception as exc:  # the server is down or refused: the same error as a dead worker
            raise StoreError(f"{type(exc).__name__}: {str(exc)[:200]}") from exc

    async def close(self) -> None:
        self.ops.close()


class _ProcessRunner:
    """Runs :class:`ChromaOps` calls in a child process, one at a time, over pipes."""

    def __init__(self) -> None:
        self.process: Optional[asyncio.subprocess.Process] = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            chroma_worker.__file__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )

    async def call(self, operation: str, *args: Any) -> Any:
        process = self.process
        if process is None or process.returncode is not None:
            raise StoreError("the chromadb worker process is not running")
        async with self._lock:
            try:
                process.stdin.write(encode_frame((operation, args)))
                await process.stdin.drain()
                (size,) = HEADER.unpack(await process.stdout.readexactly(HEADER.size))
                ok, value = pickle.loads(await process.stdout.readexactly(size))
            except (asyncio.IncompleteReadError, BrokenPipeError, ConnectionResetError) as exc:
                raise StoreError(f"the chromadb worker process stopped ({type(exc).__name__})") from None
        if not ok:
            raise StoreError(f"{value[0]}: {value[1]}")
        return value

    async def close(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        try:
            process.stdin.write(encode_frame(("exit", ())))
            await process.stdin.drain()
            await asyncio.wait_for(process.wait(), 10)
        except (asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
            process.kill()
            await process.wait()


def _record(row: Sequence[Any]) -> "Record":
    return Record(row[0], row[1], row[2], row[3])


ADD_BATCH = 256  # records per call: keeps each pickled frame (and each GIL hold) small


class VectorStore:
    """Async facade over one chromadb client. ``open()`` must succeed before anything else."""

    def __init__(self, backend: BackendConfig, path: Path, token: Optional[str] = None) -> None:
        self.backend = backend
        self.path = Path(path)
        self._token = token
        self._runner: Any = None

    @property
    def is_open(self) -> bool:
        return self._runner is not None

    async def open(self) -> None:
        """Import chromadb and connect; raises if the folder is unusable or the server is down."""
        if self._runner is not None:
            return
        runner = _ThreadRunner() if self.backend.kind == "server" else _ProcessRunner()
        await runner.start()
        try:
            b = self.backend
            await runner.call("connect", b.kind, str(self.path), b.host, b.port, b.ssl, self._token)
        except BaseException:
            await runner.close()
            raise
        self._runner = runner

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.close()

    async def _call(self, operation: str, *args: Any) -> Any:
        if self._runner is None:
            raise StoreError("the vector store is not open")
        return await self._runner.call(operation, *args)

    async def add(
        self,
        model: str,
        place: str,
        ids: Sequence[str],
        texts: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metas: Sequence[Mapping[str, Any]],
    ) -> None:
        for start in range(0, len(ids), ADD_BATCH):
            end = start + ADD_BATCH
            await self._call(
                "add",
                model,
                place,
                list(ids[start:end]),
                list(texts[start:end]),
                [list(e) for e in embeddings[start:end]],
                [dict(m) for m in metas[start:end]],
            )

    async def delete(self, where: Where, place: Optional[str] = None) -> int:
        """Delete matching records (of ``place``, or everywhere); returns how many there were."""
        return await self._call("delete", where, None, place)

    async def delete_ids(self, ids: Sequence[str], where: Where, place: Optional[str] = None) -> int:
        """Delete the records with ``ids`` that also match ``where`` (so nobody deletes others')."""
        return await self._call("delete", where, list(ids), place)

    async def query(
        self, model: str, place: str, embedding: Sequence[float], where: Where, n: int
    ) -> List[Record]:
        return [_record(row) for row in await self._call("query", model, place, list(embedding), where, n)]

    async def query_with_vectors(
        self, model: str, place: str, embedding: Sequence[float], where: Where, n: int
    ) -> Tuple[List[Record], List[List[float]]]:
        """:meth:`query`, and the records' vectors in the same order."""
        rows, vectors = await self._call("query_with_vectors", model, place, list(embedding), where, n)
        return [_record(row) for row in rows], vectors

    async def update(
        self, model: str, place: str, ids: Sequence[str], metas: Sequence[Mapping[str, Any]]
    ) -> None:
        """Replace the metadata of existing records of ``place``."""
        await self._call("update", model, place, list(ids), [dict(m) for m in metas])

    async def get(self, where: Optional[Where], place: Optional[str] = None) -> List[Record]:
        """Every record matching ``where`` (of ``place``, or everywhere), for every model, oldest first."""
        records = [_record(row) for row in await self._call("get", where, place)]
        records.sort(key=lambda r: r.meta.get("at", 0))
        return records

    async def sizes(self, model: str, places: Sequence[str]) -> List[int]:
        return await self._call("sizes", model, list(places))

    async def count(self, where: Optional[Where] = None, place: Optional[str] = None) -> int:
        return await self._call("count", where, place)
