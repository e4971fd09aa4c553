"""Serving the panel: an aiohttp site started and stopped with the cog (and by ``ai panel``)."""

from __future__ import annotations

import errno
import logging
from typing import Any, Optional

from aiohttp import web

from ..engine.errors import SkynetError
from ..engine.usage.series_reader import SeriesReader
from ..i18n import _
from .app import Panel
from .routes import make_app
from .usage_data import UsageData

log = logging.getLogger("red.skynet.panel")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765  # documented in docs/panel.md


class PortUnavailable(SkynetError):
    kind = "panel_port_unavailable"


class PanelServer:
    """Owns the web app, its site and its usage reader. ``start`` twice restarts on the new address."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.reader = SeriesReader(host.usage.path)
        self.panel = Panel(host, UsageData(self.reader, lambda: getattr(host.usage, "generation", None)))
        self._runner: Optional[web.AppRunner] = None
        self.address: Optional[str] = None  # "host:port" while serving

    @property
    def running(self) -> bool:
        return self._runner is not None

    def base_url(self) -> str:
        """Where members open the panel: the owner's public URL, else the local address."""
        if self.panel.public_url:
            return self.panel.public_url.rstrip("/")
        return f"http://{self.address}" if self.address else ""

    async def start(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, public_url: Optional[str] = None
    ) -> None:
        await self.stop()
        self.panel.public_url = public_url
        await self.reader.open()
        runner = web.AppRunner(make_app(self.panel), access_log=None)  # no sign-in links in logs
        await runner.setup()
        site = web.TCPSite(runner, host, port, shutdown_timeout=1.0)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise PortUnavailable(
                    _(
                        "The panel could not listen on {host}:{port}: {reason}. Choose another port, e.g. `[p]ai panel enable {host} {other}`."
                    ).format(host=host, port=port, reason=exc.strerror or exc, other=port + 1)
                ) from None
            raise
        self._runner = runner
        actual = port
        sockets = [s for s in getattr(site._server, "sockets", None) or []]  # port 0: the one chosen
        if sockets:
            actual = sockets[0].getsockname()[1]
        self.address = f"{host}:{actual}"
        log.info("Panel serving on http://%s", self.address)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            self.address = None
            self.panel.sessions.clear()  # signed out when the panel stops

    async def close(self) -> None:
        await self.stop()
        await self.reader.close()

    def login_link(self, user_id: int) -> str:
        """A one-time sign-in link for ``user_id`` (raises when they asked for too many)."""
        return f"{self.base_url()}/login/{self.panel.links.issue(user_id)}"
