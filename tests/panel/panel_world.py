"""Helpers for the panel's tests: a second server with its own admin, signed-in test clients."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Dict, Optional

import discord
from aiohttp.test_utils import TestClient, TestServer
from discord.ext.test import backend as dpy_backend

OTHER_GUILD = 1100000000000000900
OTHER_CHANNEL = 1100000000000000901
OTHER_ADMIN = 1100000000000000902
OTHER_ROLE = 1100000000000000903


def cog_module(name: str):
    """``skynet.<name>`` as the bot imported it: the harness gives the bot its own import of the
    cog, and errors raised by the cog must be the classes the panel catches."""
    return importlib.import_module(f"skynet.{name}")


def panel_server(cog):
    return cog_module("panel").PanelServer(cog)


@dataclass
class World:
    server: object
    other_guild: discord.Guild
    other_admin: discord.Member
    clients: Dict[str, TestClient]


def make_other_guild(red) -> tuple:
    """A second server whose admin is not in the first one (the one guessing ids)."""
    state = dpy_backend.get_state()
    state.stop_dispatch()
    try:
        guild = dpy_backend.make_guild("Other Guild", id_num=OTHER_GUILD)
        dpy_backend.make_text_channel("elsewhere", guild, id_num=OTHER_CHANNEL)
        role = dpy_backend.make_role(
            "Boss", guild, id_num=OTHER_ROLE, permissions=discord.Permissions(administrator=True).value
        )
        user = dpy_backend.make_user("otheradmin", "0001", id_num=OTHER_ADMIN)
        admin = dpy_backend.make_member(user, guild, roles=[role])
        dpy_backend.make_member(state.user, guild)
    finally:
        state.start_dispatch()
    return guild, admin


async def client_for(server) -> TestClient:
    client = TestClient(TestServer(cog_module("panel.routes").make_app(server.panel)))
    await client.start_server()
    return client


async def sign_in(client: TestClient, server, user_id: int) -> None:
    token = server.panel.links.issue(user_id)
    page = await client.get(f"/login/{token}")
    assert page.status == 200, await page.text()
    done = await client.post("/login", data={"token": token}, allow_redirects=False)
    assert done.status == 303
    cookie = done.cookies["skynet_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"


def csrf_of(text: str) -> Optional[str]:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    return found.group(1) if found else None


async def csrf(client: TestClient) -> str:
    page = await client.get("/me")
    token = csrf_of(await page.text())
    assert token, "no CSRF token on the page"
    return token
