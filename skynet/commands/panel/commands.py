"""``[p]ai panel enable|disable|url|status|login``: serving the web panel and signing in to it.

The panel is off by default. The owner turns it on (127.0.0.1:8765 unless told otherwise); it
starts and stops with the cog. Members sign in with a one-time link the bot sends them by DM.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

import discord
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue, SkynetError
from ...i18n import _
from ...panel import DEFAULT_HOST, DEFAULT_PORT, PanelServer, dashboard
from ...panel.auth import LINK_TTL
from ..common import reply
from ..group import AIGroup

log = logging.getLogger("red.skynet.panel")


class PanelMixin(MixinMeta):
    panel_server: Optional[PanelServer]

    # -- lifecycle (called by cog_load / cog_unload) --------------------------------------------

    async def panel_load(self) -> None:
        self.panel_server = None
        settings = await self.config.panel()
        if settings.get("enabled"):
            try:
                await self._panel_start(settings)
            except SkynetError as exc:  # the port is taken: the cog works, the panel says why
                log.warning("The web panel did not start: %s", exc.message)

    async def panel_unload(self) -> None:
        if self.panel_server is not None:
            await self.panel_server.close()
            self.panel_server = None

    async def _panel_start(self, settings: Dict[str, Any]) -> PanelServer:
        if self.panel_server is None:
            self.panel_server = PanelServer(self)
        await self.panel_server.start(
            settings.get("host") or DEFAULT_HOST,
            int(settings.get("port") or DEFAULT_PORT),
            settings.get("public_url"),
        )
        return self.panel_server

    # -- commands ---------------------------------------------------------------------------------

    @AIGroup.ai.group(name="panel", with_app_command=False)  # slash `ai` is full (25)
    async def ai_panel(self, ctx: commands.Context) -> None:
        """The web panel: usage charts, budgets, memories and settings in a browser."""

    @ai_panel.command(name="enable")
    @commands.is_owner()
    async def ai_panel_enable(
        self, ctx: commands.Context, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
    ) -> None:
        """Start the web panel (default 127.0.0.1:8765). Put it behind a reverse proxy with TLS
        (`[p]ai panel url`) to open it to members."""
        host = host.strip() or DEFAULT_HOST
        if not 1 <= port <= 65535:
            raise InvalidValue(_("The port must be a number from 1 to 65535."))
        settings = {**await self.config.panel(), "enabled": True, "host": host, "port": port}
        server = await self._panel_start(settings)  # raises a clear message when the port is taken
        await self.config.panel.set(settings)
        text = _("The web panel is on at <{url}>. Sign in with `[p]ai panel login`.").format(
            url=server.base_url()
        )
        if not _loopback(host) and not settings.get("public_url"):
            text += "\n" + _(
                "-# It listens on {host}, beyond this machine, without TLS: put it behind a reverse proxy with HTTPS and set `[p]ai panel url`."
            ).format(host=host)
        await reply(ctx, text)

    @ai_panel.command(name="disable")
    @commands.is_owner()
    async def ai_panel_disable(self, ctx: commands.Context) -> None:
        """Stop the web panel (everybody is signed out)."""
        await self.panel_unload()
        await self.config.panel.enabled.set(False)
        await reply(ctx, _("The web panel is off."))

    @ai_panel.command(name="url")
    @commands.is_owner()
    async def ai_panel_url(self, ctx: commands.Context, public_url: str) -> None:
        """The address members open, when a reverse proxy serves the panel (`none` to remove).

        Example: `[p]ai panel url https://bot.example.org/panel`. With https, session cookies
        are marked Secure."""
        value: Optional[str] = None
        if public_url.strip().lower() not in ("none", "off", "remove"):
            parts = urlsplit(public_url.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise InvalidValue(
                    _(
                        "Give the panel's address starting with https://, e.g. `https://bot.example.org/panel`."
                    )
                )
            value = public_url.strip().rstrip("/")
        await self.config.panel.public_url.set(value)
        if self.panel_server is not None:
            self.panel_server.panel.public_url = value
        await reply(
            ctx,
            _("Members now get sign-in links to <{url}>.").format(url=value)
            if value
            else _("Sign-in links now point at the panel's own address."),
        )

    @ai_panel.command(name="status")
    @commands.is_owner()
    async def ai_panel_status(self, ctx: commands.Context) -> None:
        """Whether the panel runs, where, and the address in sign-in links."""
        server = self.panel_server
        if server is None or not server.running:
            await reply(ctx, _("The web panel is off. Turn it on with `[p]ai panel enable`."))
            return
        await reply(
            ctx,
            _("The web panel listens on {address}; sign-in links point at <{url}>.").format(
                address=server.address, url=server.base_url()
            ),
        )

    @ai_panel.command(name="login")
    async def ai_panel_login(self, ctx: commands.Context) -> None:
        """Get a one-time sign-in link to the web panel by DM (it works once, for 10 minutes)."""
        server = self.panel_server
        if server is None or not server.running:
            raise InvalidValue(
                _("The web panel is off. The bot owner can turn it on with `[p]ai panel enable`.")
            )
        link = server.login_link(ctx.author.id)  # rate limited: raises a message saying when
        text = _(
            "Your sign-in link to the skynet panel (it works once, for {minutes} minutes; do not share it):\n<{link}>"
        ).format(minutes=LINK_TTL // 60, link=link)
        try:
            await ctx.author.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            raise InvalidValue(
                _("I could not DM you. Allow direct messages from this server's members, then try again.")
            ) from None
        if ctx.guild is not None:
            await reply(ctx, _("I sent you a sign-in link by DM."), ephemeral=True)

    # -- Red-Web-Dashboard third-party pages (only used when that cog is loaded) --------------------

    @commands.Cog.listener()
    async def on_dashboard_cog_add(self, dashboard_cog: commands.Cog) -> None:
        dashboard_cog.rpc.third_parties_handler.add_third_party(self)

    @dashboard.dashboard_page(name="usage", description="AI usage of this server", methods=("GET",))
    async def dashboard_usage(
        self, user: discord.User, guild: discord.Guild, **kwargs: Any
    ) -> Dict[str, Any]:
        if self.panel_server is None:  # the reports need its reader; closed with the cog
            self.panel_server = PanelServer(self)
        return await dashboard.usage_page(self, user.id, guild.id, self.panel_server.panel.usage_data)

    @dashboard.dashboard_page(name="settings", description="AI settings of this server", methods=("GET",))
    async def dashboard_settings(
        self, user: discord.User, guild: discord.Guild, **kwargs: Any
    ) -> Dict[str, Any]:
        return await dashboard.settings_page(self, user.id, guild.id)


def _loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
