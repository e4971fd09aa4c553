"""The panel's aiohttp application: sign-in, sessions, access checks, security headers.

Routes live in ``pages_*.py``; each handler gets the :class:`Panel` (the cog's services) and the
request's :class:`~skynet.panel.access.Viewer`. Every route that shows data checks the viewer's
rights for the server in its path: a server one does not administer answers 404, whatever id is
guessed, so nobody learns which servers exist.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web

from ..i18n import _
from . import html
from .access import Viewer, viewer_for
from .auth import LoginLinks, Session, Sessions
from .usage_data import UsageData

log = logging.getLogger("red.skynet.panel")

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "skynet_session"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Panel:
    """What the routes need: the cog (its stores and engine), the sign-in state, the usage data."""

    def __init__(self, host: Any, usage_data: UsageData, *, public_url: Optional[str] = None) -> None:
        self.host = host  # the cog: bot, usage, governance, memory, memory_service, settings...
        self.bot = host.bot
        self.links = LoginLinks()
        self.sessions = Sessions()
        self.usage_data = usage_data
        self.public_url = public_url

    @property
    def prefix(self) -> str:
        return getattr(self.host, "_default_prefix", None) or "[p]"

    def say(self, text: str) -> str:
        """A message naming a command, with the bot's prefix in it."""
        return text.replace("[p]", self.prefix)

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_url and self.public_url.lower().startswith("https://"))

    def changed(self, viewer: Viewer, guild_id: int, what: str) -> None:
        """A setting changed from the panel: logged like a command and announced to listeners
        (``on_skynet_setting_changed``: the audit log's hook point)."""
        log.info("Panel: %s (%s) changed %s in server %s", viewer.name, viewer.user_id, what, guild_id)
        self.bot.dispatch("skynet_setting_changed", guild_id, viewer.user_id, what, "panel")


PANEL = web.AppKey("panel", Panel)


def viewer_of(request: web.Request) -> Viewer:
    return request["viewer"]


def session_of(request: web.Request) -> Session:
    return request["session"]


def panel_of(request: web.Request) -> Panel:
    return request.app[PANEL]


def render(
    request: web.Request,
    title: str,
    body: str,
    *,
    status: int = 200,
    notice: Optional[str] = None,
    error: Optional[str] = None,
) -> web.Response:
    viewer: Optional[Viewer] = request.get("viewer")
    session: Optional[Session] = request.get("session")
    nav = []
    if viewer is not None:
        nav.append(("/", _("Servers")))
        nav.append(("/me", _("My data")))
    text = html.page(
        title,
        body,
        viewer_name=viewer.name if viewer else None,
        csrf=session.csrf if session else None,
        nav=nav,
        notice=notice,
        error=error,
    )
    return web.Response(text=text, content_type="text/html", status=status)


def not_found(request: web.Request) -> web.Response:
    return render(
        request,
        _("Not found"),
        f"<p>{html.esc(_('There is nothing here, or it is not yours to see.'))}</p>",
        status=404,
    )


def guild_id_of(request: web.Request) -> int:
    """The server in the path, if the viewer administers it (else 404, also for unknown ids)."""
    try:
        guild_id = int(request.match_info["guild_id"])
    except (KeyError, ValueError):
        raise web.HTTPNotFound() from None
    viewer = viewer_of(request)
    if not viewer.may_admin(guild_id):
        raise web.HTTPNotFound()
    if guild_id != 0 and panel_of(request).bot.get_guild(guild_id) is None:
        raise web.HTTPNotFound()
    if guild_id == 0 and not viewer.owner:
        raise web.HTTPNotFound()
    return guild_id


PUBLIC = ("/login", "/static/", "/favicon.ico")


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = not_found(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # sign-in links never leak to other sites
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Loads the session and the viewer; checks the CSRF token of every POST but the sign-in."""
    panel = panel_of(request)
    session = panel.sessions.get(request.cookies.get(COOKIE))
    if session is not None:
        request["session"] = session
        request["viewer"] = await viewer_for(panel.bot, session.user_id)
    if request.path.startswith(PUBLIC):
        return await handler(request)
    if session is None:
        return render(
            request,
            _("Sign in"),
            "<p>"
            + html.esc(
                panel.say(
                    _(
                        "Your session has expired or you are not signed in. Type `[p]ai panel login` in Discord: the bot sends you a sign-in link."
                    )
                )
            )
            + "</p>",
            status=401,
        )
    if request.method == "POST":
        form = await request.post()
        if not session.csrf_ok(form.get("csrf")):
            return render(
                request,
                _("Form expired"),
                "<p>"
                + html.esc(
                    _(
                        "This form was not sent from the panel, or it is too old. Reload the page and try again."
                    )
                )
                + "</p>",
                status=403,
            )
        request["form"] = form
    return await handler(request)


async def login_page(request: web.Request) -> web.Response:
    """The link from the DM: a button, so a link preview (which fetches it) does not use it up."""
    token = request.match_info["token"]
    if panel_of(request).links.peek(token) is None:
        return _link_refused(request)
    body = (
        f'<form method="post" action="/login"><input type="hidden" name="token" value="{html.esc(token)}">'
        f'<button type="submit" id="sign-in">{html.esc(_("Sign in to the panel"))}</button></form>'
    )
    return render(request, _("Sign in"), body)


def _link_refused(request: web.Request) -> web.Response:
    return render(
        request,
        _("Sign-in link not valid"),
        "<p>"
        + html.esc(
            panel_of(request).say(
                _(
                    "This sign-in link has expired or was already used. Type `[p]ai panel login` in Discord for a new one."
                )
            )
        )
        + "</p>",
        status=403,
    )


async def login(request: web.Request) -> web.StreamResponse:
    panel = panel_of(request)
    form = await request.post()
    user_id = panel.links.redeem(str(form.get("token", "")))
    if user_id is None:
        return _link_refused(request)
    token, session = panel.sessions.create(user_id)
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(session.expires - panel.sessions.clock()),
        httponly=True,
        samesite="Strict",
        secure=panel.secure_cookies or request.secure,
        path="/",
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    panel = panel_of(request)
    panel.sessions.end(request.cookies.get(COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    return response


async def signed_out(request: web.Request) -> web.Response:
    return render(
        request,
        _("Signed out"),
        "<p>"
        + html.esc(
            panel_of(request).say(
                _("You are signed out. Type `[p]ai panel login` in Discord to sign in again.")
            )
        )
        + "</p>",
    )
