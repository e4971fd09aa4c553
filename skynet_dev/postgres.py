"""A throw-away PostgreSQL server for running Red's PostgreSQL Config driver offline.

``LocalPostgres`` starts the server bundled in the ``pgserver`` package (≈1-3 s, Unix socket only,
no TCP port) in a folder of your choice, gives the ``storage_details`` that Red's Postgres driver
expects (what ``redbot-setup`` would store), and wipes every cog's data between uses.

Running as root: PostgreSQL refuses to start as root. pgserver then runs the server as a system
user ``pgserver`` (created with ``useradd`` if missing) and opens the data folder's parents for it to
traverse; ``LocalPostgres`` keeps its data folder in a world-traversable temporary folder so that
works without touching anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

__all__ = ["LocalPostgres", "postgres_available"]

DATABASE = "postgres"  # pgserver's default database; Red keeps each cog in its own schema
USER = "postgres"


def postgres_available() -> Optional[str]:
    """None if a local PostgreSQL can be started here, else why not (for a skip message)."""
    try:
        import asyncpg  # noqa: F401  (Red's Postgres driver)
        import pgserver  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[test]')"
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("useradd") is None:
        return "running as root without useradd: pgserver cannot create a user to run PostgreSQL as"
    return None


class LocalPostgres:
    """One PostgreSQL server for a test session: ``start()``, ``storage_details``, ``await wipe()``,
    ``stop()``."""

    def __init__(self, pgdata: Optional[Path] = None) -> None:
        self._own_dir: Optional[str] = None
        if pgdata is None:
            # Directly under the system temp folder: as root, pgserver's server user must be able
            # to traverse every parent of the data folder.
            self._own_dir = tempfile.mkdtemp(prefix="skynet-pg-")
            pgdata = Path(self._own_dir) / "pgdata"
        self.pgdata = Path(pgdata)
        self._server: Any = None

    def start(self) -> "LocalPostgres":
        import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self

    @property
    def storage_details(self) -> Dict[str, Any]:
        """Red's ``STORAGE_DETAILS`` for its Postgres driver (asyncpg connection arguments)."""
        info = self._server.get_postmaster_info()
        return {
            "host": str(info.socket_dir),
            "port": info.port,
            "user": USER,
            "password": None,
            "database": DATABASE,
        }

    async def wipe(self) -> None:
        """Delete every cog's data (Red's ``delete_all_schemas``); the driver's functions stay."""
        import asyncpg

        connection = await asyncpg.connect(**self.storage_details)
        try:
            exists = await connection.fetchval("SELECT to_regnamespace('red_config') IS NOT NULL")
            if exists:
                await connection.execute("SELECT red_config.delete_all_schemas()")
        finally:
            await connection.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None
