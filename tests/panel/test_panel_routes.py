"""Every panel page for every kind of visitor: the owner, an admin of this server, an admin of
another server guessing ids, a member, nobody; expired and reused sign-in links; CSRF."""

from __future__ import annotations

from typing import AsyncIterator, Dict

import pytest
from conftest import KEY, say, text_of
from panel_world import client_for, cog_module, csrf, make_other_guild, panel_server, sign_in

from skynet.panel.auth import LINK_TTL, SESSION_TTL

pytestmark = pytest.mark.discord_bursts


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(bot, cog) -> AsyncIterator[Dict]:
    other_guild, other_admin = make_other_guild(bot)
    # A few answered chats: by the member, and by the admin.
    await say(bot, "!ai chat hello there", author=bot.member)
    await say(bot, "!ai chat what is 2+2", author=bot.admin)
    await cog.usage.flush()
    server = panel_server(cog)
    await server.reader.open()
    clients = {}
    users = {
        "owner": bot.owner.id,
        "admin": bot.admin.id,
        "other_admin": other_admin.id,
        "member": bot.member.id,
    }
    for name in ["owner", "admin", "other_admin", "member", "nobody"]:
        clients[name] = await client_for(server)
        if name in users:
            await sign_in(clients[name], server, users[name])
    yield {
        "server": server,
        "clients": clients,
        "guild": bot.guild.id,
        "other": other_guild.id,
        "red": bot,
        "cog": cog,
    }
    for client in clients.values():
        await client.close()
    await server.close()


PAGES = [
    "/g/{g}/usage",
    "/g/{g}/usage.csv?table=member",
    "/g/{g}/budgets",
    "/g/{g}/memory",
    "/g/{g}/settings",
    "/g/{g}/policies",
    "/g/{g}/personas",
]


async def status(client, path: str) -> int:
    response = await client.get(path)
    await response.read()
    return response.status


async def test_who_sees_which_server(world) -> None:
    c, g, other = world["clients"], world["guild"], world["other"]
    for page in PAGES:
        assert await status(c["owner"], page.format(g=g)) == 200, page
        assert await status(c["owner"], page.format(g=other)) == 200, page
        assert await status(c["admin"], page.format(g=g)) == 200, page
        # An admin of another server, guessing this server's id: nothing, and no hint it exists.
        assert await status(c["other_admin"], page.format(g=g)) == 404, page
        assert await status(c["other_admin"], page.format(g=other)) == 200, page
        assert await status(c["admin"], page.format(g=other)) == 404, page
        assert await status(c["member"], page.format(g=g)) == 404, page
        assert await status(c["nobody"], page.format(g=g)) == 401, page
        assert await status(c["admin"], page.format(g=12345)) == 404, page  # unknown server
    # DMs (server 0): the owner only
    assert await status(c["owner"], "/g/0/usage") == 200
    for name in ("admin", "other_admin", "member"):
        assert await status(c[name], "/g/0/usage") == 404
    for name in ("owner", "admin", "other_admin", "member"):
        assert await status(c[name], "/") == 200
        assert await status(c[name], "/me") == 200
        assert await status(c[name], "/me/export.json") == 200
    for path in ("/", "/me", "/me/export.json"):
        assert await status(c["nobody"], path) == 401


async def test_the_usage_page_shows_this_servers_chats_and_no_secret(world) -> None:
    c, g = world["clients"], world["guild"]
    page = await (await c["admin"].get(f"/g/{g}/usage")).text()
    assert "Usage in Test Guild" in page
    assert ">member<" in page and ">admin<" in page  # the per-member table
    assert "gpt-test" in page and "#general" in page
    assert 'id="usage-chart"' in page and 'id="usage-data"' in page
    other = await (await c["other_admin"].get(f"/g/{world['other']}/usage")).text()
    assert ">member<" not in other and "gpt-test" not in other
    csv = await (await c["admin"].get(f"/g/{g}/usage.csv?table=member")).text()
    assert csv.splitlines()[0].startswith("user_id,member,requests")
    assert len(csv.splitlines()) == 3  # the member and the admin
    for name in ("owner", "admin"):
        for path in ["/", "/me", "/me/export.json"] + [p.format(g=g) for p in PAGES]:
            assert KEY not in await (await c[name].get(path)).text(), path


async def test_a_member_sees_only_their_own_data(world) -> None:
    c, red = world["clients"], world["red"]
    mine = await (await c["member"].get("/me")).text()
    assert "Test Guild" in mine and "Last 30 days: 1 requests" in mine
    exported = await (await c["member"].get("/me/export.json")).json()
    assert exported["usage"][f"server {world['guild']}"]["requests"] == 1
    assert exported["usage"]["by_day"][str(world["guild"])][0]["requests"] == 1  # the per-day rows too
    assert "what is 2+2" not in str(exported)  # the admin's question is not the member's data
    assert "hello there" in str(exported)
    # Deleting one's data from the panel removes the per-day rows too
    gone = await c["member"].post("/me/delete", data={"confirm": "yes", "csrf": await csrf(c["member"])})
    assert "Everything stored about you was deleted" in await gone.text()
    again = await (await c["member"].get("/me/export.json")).json()
    assert "usage" not in again
    csv = await (await c["admin"].get(f"/g/{world['guild']}/usage.csv?table=member")).text()
    assert str(red.member.id) not in csv and str(red.admin.id) in csv


async def test_posts_need_the_sessions_csrf_token(world) -> None:
    c, g = world["clients"], world["guild"]
    path = f"/g/{g}/settings/listen"
    form = {"scope": "server", "mode": "all"}
    missing = await c["admin"].post(path, data=form)
    assert missing.status == 403 and "not sent from the panel" in await missing.text()
    wrong = await c["admin"].post(path, data={**form, "csrf": "forged"})
    assert wrong.status == 403
    # another member's token does not work in this session either
    assert (await c["admin"].post(path, data={**form, "csrf": await csrf(c["member"])})).status == 403
    assert world["cog"].governance.rules(g).listen.mode == "off"
    ok = await c["admin"].post(path, data={**form, "csrf": await csrf(c["admin"])})
    assert ok.status == 200, await ok.text()
    assert world["cog"].governance.rules(g).listen.mode == "all"
    # recorded in the audit log like the command, under the admin's name
    entries = await world["cog"].privacy.audit.query(guild_id=g)
    assert any(
        e.command == "panel settings listen" and e.actor_id == world["red"].admin.id and e.new == "all"
        for e in entries
    ), entries
    # the other server's admin cannot post to this server, with their own valid token
    refused = await c["other_admin"].post(
        path, data={"scope": "server", "mode": "off", "csrf": await csrf(c["other_admin"])}
    )
    assert refused.status == 404
    assert world["cog"].governance.rules(g).listen.mode == "all"
    assert (await c["nobody"].post(path, data=form)).status == 401


async def test_post_routes_for_each_visitor(world) -> None:
    c, g = world["clients"], world["guild"]
    posts = [
        (f"/g/{g}/settings/budget", {"who": "user", "amount": "5000", "unit": "tokens"}),
        (f"/g/{g}/settings/ratelimit", {"who": "user", "requests": "5", "seconds": "60"}),
        (f"/g/{g}/settings/cooldowns", {"cooldown": "3", "user_cooldown": "0"}),
        (f"/g/{g}/windows/clear", {"channel": str(world["red"].channel.id)}),
        (f"/g/{g}/memory/delete", {"id": "m-nothing"}),
        (f"/g/{g}/documents/remove", {"id": "d-nothing"}),
    ]
    for path, form in posts:
        for name in ("member", "other_admin"):
            response = await c[name].post(path, data={**form, "csrf": await csrf(c[name])})
            assert response.status == 404, (name, path)
        assert (await c["nobody"].post(path, data=form)).status == 401
        response = await c["admin"].post(path, data={**form, "csrf": await csrf(c["admin"])})
        assert response.status in (200, 400), (path, response.status)
    assert world["cog"].governance.rules(g).budgets.member_amount == 5000


async def test_settings_refuse_bad_values_with_the_commands_words(world) -> None:
    c, g, red = world["clients"], world["guild"], world["red"]
    command = text_of(await say(red, "!ai budget set user lots", author=red.admin))
    response = await c["admin"].post(
        f"/g/{g}/settings/budget",
        data={"who": "user", "amount": "lots", "unit": "tokens", "csrf": await csrf(c["admin"])},
    )
    assert response.status == 400
    page = await response.text()
    message = command.split("⚠️", 1)[-1].strip().strip("*").strip()
    assert message and message.split(".")[0] in page.replace("&#x27;", "'").replace("&quot;", '"'), (
        command,
        page[-800:],
    )
    assert world["cog"].governance.rules(g).budgets.member_amount is None  # nothing changed
    bad_mode = await c["admin"].post(
        f"/g/{g}/settings/listen", data={"scope": "server", "mode": "loud", "csrf": await csrf(c["admin"])}
    )
    assert bad_mode.status == 400 and "The mode must be" in await bad_mode.text()
    unknown_tool = await c["admin"].post(
        f"/g/{g}/settings/tool", data={"tool": "teleport", "state": "on", "csrf": await csrf(c["admin"])}
    )
    assert unknown_tool.status == 400 and "There is no tool" in await unknown_tool.text()


async def test_sign_in_links_are_single_use_expire_and_are_rate_limited(world) -> None:
    server = world["server"]
    auth = cog_module("panel.auth")
    clock = Clock()
    server.panel.links = auth.LoginLinks(clock)
    server.panel.sessions = auth.Sessions(clock)
    client = await client_for(server)
    try:
        member = world["red"].member.id
        used = server.panel.links.issue(member)
        assert (await client.post("/login", data={"token": used}, allow_redirects=False)).status == 303
        client.session.cookie_jar.clear()
        again = await client.post("/login", data={"token": used}, allow_redirects=False)
        assert again.status == 403 and "already used" in await again.text()
        assert (await client.get(f"/login/{used}")).status == 403
        assert (await client.get("/me")).status == 401

        late = server.panel.links.issue(member)
        clock.now += LINK_TTL + 1
        assert (await client.get(f"/login/{late}")).status == 403
        assert (await client.post("/login", data={"token": late}, allow_redirects=False)).status == 403
        for _ in range(3):
            server.panel.links.issue(member)
        with pytest.raises(auth.LoginRateLimited, match="3 sign-in links"):
            server.panel.links.issue(member)  # a fourth within ten minutes
        assert (await client.post("/login", data={"token": "guessed"}, allow_redirects=False)).status == 403

        # a session ends after its lifetime
        clock.now += LINK_TTL + 1
        fresh = server.panel.links.issue(member)
        assert (await client.post("/login", data={"token": fresh}, allow_redirects=False)).status == 303
        assert (await client.get("/me")).status == 200
        clock.now += SESSION_TTL + 1
        assert (await client.get("/me")).status == 401
    finally:
        await client.close()


async def test_sign_out_ends_the_session(world) -> None:
    client = world["clients"]["member"]
    token = await csrf(client)
    assert (await client.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    assert (await client.get("/me")).status == 401


async def test_security_headers(world) -> None:
    response = await world["clients"]["admin"].get(f"/g/{world['guild']}/usage")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    static = await world["clients"]["nobody"].get("/static/chart.umd.min.js")
    assert static.status == 200 and "Chart" in (await static.text())[:5000]
