"""The panel's routes, assembled (the page modules are imported here, at import time, so one
app never mixes two imports of the package)."""

from __future__ import annotations

from aiohttp import web

from . import pages_admin, pages_me, pages_personas, pages_policies, pages_settings, pages_usage
from .app import PANEL, STATIC, Panel, login, login_page, logout, security, signed_in, signed_out


def make_app(panel: Panel) -> web.Application:
    app = web.Application(middlewares=[security, signed_in], client_max_size=64 * 1024)
    app[PANEL] = panel
    app.router.add_get("/login", signed_out)
    app.router.add_get("/login/{token}", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_static("/static/", STATIC, append_version=False)
    for module in (pages_usage, pages_admin, pages_settings, pages_policies, pages_personas, pages_me):
        module.add_routes(app.router)
    return app
