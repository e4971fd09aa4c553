"""The panel's Policies and Personas pages: tool policies, role and member budgets, bypass roles,
personas. Each change made in the browser is then seen through the cog as members see it (``!ai
policy show``, ``!ai budget show``, the system prompt a chat sends), and in ``!ai audit`` under the
admin's name; a bad value is refused with the command's own words and changes nothing; another
server's admin, a member, nobody and forged forms are refused."""

from __future__ import annotations

import html as std_html
import json
import re
from typing import AsyncIterator, Dict, List, Optional

import discord
import pytest
from conftest import say, text_of
from discord.ext.test import backend as dpy_backend
from panel_world import (
    OTHER_ADMIN,
    OTHER_CHANNEL,
    OTHER_ROLE,
    client_for,
    csrf,
    make_other_guild,
    panel_server,
    sign_in,
)

from skynet_dev.mock_openai import Reply

pytestmark = pytest.mark.discord_bursts


@pytest.fixture
async def world(bot, cog) -> AsyncIterator[Dict]:
    other_guild, other_admin = make_other_guild(bot)
    server = panel_server(cog)
    await server.reader.open()
    users = {"admin": bot.admin.id, "other_admin": other_admin.id, "member": bot.member.id}
    clients = {}
    for name in ["admin", "other_admin", "member", "nobody"]:
        clients[name] = await client_for(server)
        if name in users:
            await sign_in(clients[name], server, users[name])
    yield {"clients": clients, "g": bot.guild.id, "other": other_guild.id, "red": bot, "cog": cog}
    for client in clients.values():
        await client.close()
    await server.close()


async def post(world: Dict, path: str, form: Dict[str, str], who: str = "admin"):
    """``who`` sends a form of the panel (with their session's CSRF token); returns (status, page)."""
    client = world["clients"][who]
    response = await client.post(path.format(g=world["g"]), data={**form, "csrf": await csrf(client)})
    return response.status, std_html.unescape(await response.text())


def unique_ids(page: str) -> bool:
    """Every label points at its own field: no id twice on a page."""
    ids = re.findall(r' id="([^"]+)"', page)
    return len(ids) == len(set(ids))


def refusal(messages) -> str:
    """The words of a command's refusal, without the warning sign and markdown around them."""
    return text_of(messages).split("⚠️", 1)[-1].strip().strip("*").strip()


async def admin(red, content: str) -> str:
    return text_of(await say(red, content, author=red.admin))


async def audit_text(red) -> str:
    shown = await say(red, "!ai audit", author=red.admin)
    assert shown and shown[-1].embeds, text_of(shown)
    embed = shown[-1].embeds[0]
    return embed["description"] if isinstance(embed, dict) else embed.description


async def audit_export(red) -> List[Dict]:
    """The audit log as an admin downloads it (``!ai audit export``: JSON lines)."""
    await say(red, "!ai audit export", author=red.admin)
    name, content = red.sent_files[red.messages()[-1].id][0]
    assert name == "skynet_audit.jsonl"
    return [json.loads(line) for line in content.decode().splitlines()]


def changed_by(entries: List[Dict], user_id: int, command: str) -> List[str]:
    """The settings ``command`` changed, recorded as ``user_id``'s."""
    return [e["setting"] for e in entries if e["command"] == command and e["actor_id"] == user_id]


async def system_prompt(red, provider, channel: Optional[discord.TextChannel] = None) -> Dict:
    """The member chats (in ``channel``, default #general); returns the request the provider got."""
    provider.script(Reply.text("ok"))
    before = len(provider.chat_requests)
    await red.say("!ai chat hi", author=red.member, channel=channel)
    await red.settle()
    assert len(provider.chat_requests) == before + 1, red.last_error
    request = provider.chat_requests[-1]
    assert request["messages"][0]["role"] == "system"
    return request


# -- tool policies --------------------------------------------------------------------------------


async def test_tool_policies_set_in_the_panel_apply_to_members(world) -> None:
    red, g = world["red"], world["g"]
    page = await (await world["clients"]["admin"].get(f"/g/{g}/policies")).text()
    assert 'id="tool-policies"' in page and "web_search" in page and f"/g/{g}/personas" in page

    status, page = await post(
        world, "/g/{g}/policies/tool", {"action": "deny", "tool": "web_search", "target": ""}
    )
    assert status == 200 and "`web_search` is now denied for the whole server." in page, page[-800:]
    status, page = await post(
        world,
        "/g/{g}/policies/tool",
        {"action": "deny", "tool": "scrape", "target": "", "member": str(red.member.id)},
    )
    assert status == 200 and "`scrape` is now denied for member." in page
    status, page = await post(
        world,
        "/g/{g}/policies/tool",
        {"action": "allow", "tool": "scrape", "target": red.admin_role.mention},
    )
    assert status == 200 and "`scrape` is now allowed for @Admin." in page
    # The policy table shows each rule where it applies
    assert "@Admin: <strong>allow</strong>" in page and "member: <strong>deny</strong>" in page
    assert unique_ids(page)

    shown = text_of(await say(red, "!ai policy show"))  # as the member sees it
    assert "⛔ `web_search` — `web_search` is denied for the whole server (server rule)" in shown, shown
    assert "⛔ `scrape` — `scrape` is denied for this member (member rule)" in shown
    # The page's "what applies to a member" view shows what `!ai policy show` tells them
    client = world["clients"]["admin"]
    view = await client.get(
        f"/g/{g}/policies", params={"member": str(red.member.id), "channel": str(red.channel.id)}
    )
    text = std_html.unescape(await view.text())
    assert (
        view.status == 200
        and "<li>⛔ <code>web_search</code> — <code>web_search</code> is denied for the whole server (server rule)"
        in text
    ), text[-1500:]
    assert "<strong>Policy for member in #general</strong>" in text
    guessed = await client.get(f"/g/{g}/policies", params={"member": str(OTHER_ADMIN)})
    assert guessed.status == 400 and "isn't a member of this server" in std_html.unescape(
        await guessed.text()
    )
    admin_view = await admin(red, "!ai policy show")
    assert "`scrape` is allowed for role" in admin_view and "(role rule)" in admin_view

    # Removing a rule (the table's Remove button sends `inherit`)
    status, page = await post(
        world, "/g/{g}/policies/tool", {"action": "inherit", "tool": "web_search", "target": ""}
    )
    assert status == 200 and "Removed the rule for `web_search` on the whole server" in page
    assert "no rule for `web_search`: allowed by default" in text_of(await say(red, "!ai policy show"))

    audit = await audit_text(red)
    assert f"<@{red.admin.id}> `panel policies tool`" in audit and "governance.tools" in audit, audit


async def test_tool_policy_form_refuses_what_the_command_refuses(world) -> None:
    red, g, cog = world["red"], world["g"], world["cog"]
    cases = [
        ({"action": "deny", "tool": "hack", "target": ""}, "!ai policy tool deny hack"),
        (
            {"action": "deny", "tool": "ping", "target": f"<@&{OTHER_ROLE}>"},
            f"!ai policy tool deny ping <@&{OTHER_ROLE}>",
        ),
        (
            {"action": "deny", "tool": "ping", "target": str(OTHER_CHANNEL)},
            f"!ai policy tool deny ping {OTHER_CHANNEL}",
        ),
        (
            {"action": "deny", "tool": "ping", "member": str(OTHER_ADMIN)},
            f"!ai policy tool deny ping {OTHER_ADMIN}",
        ),
        ({"action": "block", "tool": "ping", "target": ""}, None),
    ]
    for form, command in cases:
        status, page = await post(world, "/g/{g}/policies/tool", form)
        expected = refusal(await say(red, command, author=red.admin)) if command else "The action must be"
        assert status == 400 and expected and expected in page, (form, expected, page[-600:])
    assert cog.governance.data(g) == {}  # nothing stored, by the panel or the commands


# -- role and member budgets, bypass roles --------------------------------------------------------


async def test_role_and_member_budgets_and_bypass_roles_from_the_panel(world) -> None:
    red, g, cog = world["red"], world["g"], world["cog"]
    await admin(red, "!ai budget set user 0")
    role = red.admin_role
    status, page = await post(world, "/g/{g}/policies/budget-role", {"role": str(role.id), "amount": "500"})
    assert status == 200 and "Daily budget of role @Admin set to 500 tokens." in page, page[-600:]
    status, page = await post(
        world, "/g/{g}/policies/budget-member", {"member": str(red.member.id), "amount": "200"}
    )
    assert status == 200 and "Daily budget of member set to 200 tokens." in page
    assert "200 tokens left today (member override)" in text_of(await say(red, "!ai budget show"))
    shown = await admin(red, "!ai budget show")
    assert f"Role budgets: <@&{role.id}> 500 tokens" in shown and "(role" in shown, shown

    status, page = await post(world, "/g/{g}/policies/bypass", {"action": "add", "role": str(role.id)})
    assert status == 200 and "@Admin now skips budgets and rate limits." in page
    assert 'id="bypass-table"' in page and "@Admin" in page.split('id="bypass-table"', 1)[1][:400]
    assert f"Bypass roles: <@&{role.id}>" in await admin(red, "!ai budget bypass list")
    assert "unlimited" in await admin(red, "!ai budget show")

    # The Remove buttons: amount `none`, action `remove`
    status, page = await post(
        world, "/g/{g}/policies/budget-member", {"member": str(red.member.id), "amount": "none"}
    )
    assert status == 200 and "Budget of member removed; the next rule applies." in page
    assert "(server default)" in text_of(await say(red, "!ai budget show"))
    status, page = await post(world, "/g/{g}/policies/bypass", {"action": "remove", "role": str(role.id)})
    assert status == 200 and "@Admin no longer skips budgets and rate limits." in page
    assert "Bypass roles: none" in await admin(red, "!ai budget bypass list")
    assert cog.governance.rules(g).budgets.roles == {role.id: 500}

    entries = await audit_export(red)
    assert changed_by(entries, red.admin.id, "panel policies budget-role") == [
        f"governance.budget.roles.{role.id}"
    ]
    assert f"governance.budget.members.{red.member.id}" in changed_by(
        entries, red.admin.id, "panel policies budget-member"
    )
    assert changed_by(entries, red.admin.id, "panel policies bypass"), entries


async def test_budget_forms_refuse_what_the_command_refuses(world) -> None:
    red, g, cog = world["red"], world["g"], world["cog"]
    before = cog.governance.data(g)
    cases = [
        (
            "/g/{g}/policies/budget-member",
            {"member": str(red.member.id), "amount": "lots"},
            f"!ai budget member {red.member.id} lots",
        ),
        (
            "/g/{g}/policies/budget-member",
            {"member": str(red.member.id), "amount": "-5"},
            f"!ai budget member {red.member.id} -5",
        ),
        (
            "/g/{g}/policies/budget-member",
            {"member": str(OTHER_ADMIN), "amount": "5"},
            f"!ai budget member {OTHER_ADMIN} 5",
        ),
        (
            "/g/{g}/policies/budget-role",
            {"role": str(OTHER_ROLE), "amount": "5"},
            f"!ai budget role {OTHER_ROLE} 5",
        ),
        (
            "/g/{g}/policies/bypass",
            {"action": "add", "role": str(OTHER_ROLE)},
            f"!ai budget bypass add {OTHER_ROLE}",
        ),
        ("/g/{g}/policies/bypass", {"action": "add", "role": ""}, "!ai budget bypass add"),
    ]
    for path, form, command in cases:
        status, page = await post(world, path, form)
        expected = refusal(await say(red, command, author=red.admin))
        assert status == 400 and expected and expected in page, (form, expected, page[-600:])
    assert cog.governance.data(g) == before


# -- personas -------------------------------------------------------------------------------------


async def test_personas_made_in_the_panel_answer_the_members(world, provider) -> None:
    red, g, cog = world["red"], world["g"], world["cog"]
    status, page = await post(
        world,
        "/g/{g}/personas/create",
        {"name": "pirate", "prompt": "You are a pirate. Greet {user_display} in {server}."},
    )
    assert (
        status == 200
        and "Created persona `pirate` for this server. Use it with `!ai persona use pirate`." in page
    )
    assert "see `!ai variables`" in page and "[p]" not in page  # commands named with the bot's prefix
    assert "pirate" not in (await system_prompt(red, provider))["messages"][0]["content"]  # not yet used

    status, page = await post(world, "/g/{g}/personas/use", {"name": "pirate", "where": "server"})
    assert status == 200 and "Persona `pirate` is now active for this server." in page
    assert (await system_prompt(red, provider))["messages"][0][
        "content"
    ] == "You are a pirate. Greet member in Test Guild."

    for field, value in (("prompt", "Arr, {user_display}."), ("temperature", "1.5"), ("greeting", "Ahoy!")):
        status, page = await post(
            world, "/g/{g}/personas/edit", {"name": "pirate", "field": field, "value": value}
        )
        assert status == 200 and f"Persona `pirate`: `{field}` updated." in page, page[-600:]
    request = await system_prompt(red, provider)
    assert request["messages"][0]["content"] == "Arr, member." and request["temperature"] == 1.5
    shown = text_of(await say(red, "!ai persona show pirate"))
    assert "Greeting: Ahoy!" in shown and "temperature=1.5" in shown

    # A channel's own persona
    other = dpy_backend.make_text_channel("quiet", red.guild)
    await admin(red, "!ai persona create calm Be calm.")
    status, page = await post(world, "/g/{g}/personas/use", {"name": "calm", "where": str(other.id)})
    assert status == 200 and "Persona `calm` is now active for #quiet." in page
    assert "#quiet: <code>calm</code>" in page  # the In use list
    assert unique_ids(page)
    assert (await system_prompt(red, provider, other))["messages"][0]["content"] == "Be calm."
    assert (await system_prompt(red, provider))["messages"][0]["content"] == "Arr, member."

    status, page = await post(world, "/g/{g}/personas/delete", {"name": "pirate"})
    assert status == 200 and "Deleted persona `pirate` from this server." in page
    assert "pirate" not in (await system_prompt(red, provider))["messages"][0]["content"].lower()
    assert set(cog.personas.stored(g)) == {"calm"}

    entries = await audit_export(red)
    for form in ("create", "use", "edit", "delete"):
        settings = changed_by(entries, red.admin.id, f"panel personas {form}")
        assert settings and all(s.startswith("persona") for s in settings), (form, entries)


async def test_persona_forms_refuse_what_the_command_refuses_and_escape_text(world, provider) -> None:
    red, g, cog = world["red"], world["g"], world["cog"]
    await admin(red, "!ai persona create dup One.")
    cases = [
        ("create", {"name": "x" * 33, "prompt": "Hi."}, "!ai persona create " + "x" * 33 + " Hi."),
        ("create", {"name": "Teacher", "prompt": "Hi."}, "!ai persona create Teacher Hi."),
        ("create", {"name": "DUP", "prompt": "Two."}, "!ai persona create DUP Two."),
        (
            "edit",
            {"name": "teacher", "field": "prompt", "value": "Hi."},
            "!ai persona edit teacher prompt Hi.",
        ),
        ("edit", {"name": "dup", "field": "colour", "value": "red"}, "!ai persona edit dup colour red"),
        ("edit", {"name": "dup", "field": "temperature", "value": "9"}, "!ai persona edit dup temperature 9"),
        ("delete", {"name": "nobody"}, "!ai persona delete nobody"),
        ("use", {"name": "nobody", "where": "server"}, "!ai persona use nobody"),
    ]
    for form_name, form, command in cases:
        status, page = await post(world, f"/g/{{g}}/personas/{form_name}", form)
        expected = refusal(await say(red, command, author=red.admin))
        assert status == 400 and expected and expected in page, (form, expected, page[-600:])
    status, page = await post(world, "/g/{g}/personas/use", {"name": "dup", "where": str(OTHER_CHANNEL)})
    assert status == 400 and "That channel is not in this server." in page
    assert set(cog.personas.stored(g)) == {"dup"} and cog.personas.stored(g)["dup"].params == {}

    # Another server's persona: its admin made it; this server's admin cannot reach it by name.
    other = world["other"]
    status, _page = await post(
        world, f"/g/{other}/personas/create", {"name": "secret", "prompt": "Hidden."}, "other_admin"
    )
    assert status == 200
    for form_name, form in (
        ("edit", {"name": "secret", "field": "prompt", "value": "Mine."}),
        ("delete", {"name": "secret"}),
        ("use", {"name": "secret", "where": "server"}),
    ):
        status, page = await post(world, f"/g/{{g}}/personas/{form_name}", form)
        assert status == 400 and "There is no persona `secret` here." in page
    assert cog.personas.stored(other)["secret"].system_prompt == "Hidden."
    assert "secret" not in await (await world["clients"]["admin"].get(f"/g/{g}/personas")).text()

    # What members typed is shown as text, never as markup
    await post(
        world,
        "/g/{g}/personas/edit",
        {"name": "dup", "field": "description", "value": "<script>alert(1)</script>"},
    )
    raw = await (await world["clients"]["admin"].get(f"/g/{g}/personas")).text()
    assert "<script>alert" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw


# -- who may ---------------------------------------------------------------------------------------

PAGES = ["/g/{g}/policies", "/g/{g}/personas"]
POSTS = [
    ("/g/{g}/policies/tool", {"action": "deny", "tool": "ping", "target": ""}),
    ("/g/{g}/policies/budget-role", {"role": "{role}", "amount": "5"}),
    ("/g/{g}/policies/budget-member", {"member": "{member}", "amount": "5"}),
    ("/g/{g}/policies/bypass", {"action": "add", "role": "{role}"}),
    ("/g/{g}/personas/create", {"name": "intruder", "prompt": "Hi."}),
    ("/g/{g}/personas/edit", {"name": "kept", "field": "prompt", "value": "Changed."}),
    ("/g/{g}/personas/delete", {"name": "kept"}),
    ("/g/{g}/personas/use", {"name": "kept", "where": "server"}),
]


async def test_only_this_servers_admins_see_and_change_it(world) -> None:
    red, g, c, cog = world["red"], world["g"], world["clients"], world["cog"]
    await admin(red, "!ai persona create kept Kept.")
    await admin(red, f"!ai budget role {red.admin_role.id} 50")
    before = (cog.governance.data(g), cog.personas.stored(g), cog.personas.choice(_guild_scope(cog, g)))
    for page in PAGES:
        assert (await c["admin"].get(page.format(g=g))).status == 200
        assert (await c["other_admin"].get(page.format(g=world["other"]))).status == 200
        for name, expected in (("other_admin", 404), ("member", 404), ("nobody", 401)):
            response = await c[name].get(page.format(g=g))
            text = await response.text()
            assert response.status == expected, (name, page)
            assert "Kept." not in text and "kept" not in text and "@Admin" not in text, (name, page)
    for path, form in POSTS:
        form = {k: v.format(role=red.admin_role.id, member=red.member.id) for k, v in form.items()}
        url = path.format(g=g)
        for name in ("other_admin", "member"):
            response = await c[name].post(url, data={**form, "csrf": await csrf(c[name])})
            assert response.status == 404, (name, path)
        assert (await c["nobody"].post(url, data=form)).status == 401
        missing = await c["admin"].post(url, data=form)
        assert missing.status == 403 and "not sent from the panel" in await missing.text(), path
        assert (await c["admin"].post(url, data={**form, "csrf": "forged"})).status == 403
        assert (await c["admin"].post(url, data={**form, "csrf": await csrf(c["member"])})).status == 403
    after = (cog.governance.data(g), cog.personas.stored(g), cog.personas.choice(_guild_scope(cog, g)))
    assert after == before


def _guild_scope(cog, guild_id: int):
    from panel_world import cog_module

    settings = cog_module("stores.settings")
    return settings.Scope(settings.GUILD, guild_id)


# -- the commands, after their logic moved into the functions the panel shares --------------------


async def test_the_commands_answer_as_before(world, provider) -> None:
    red, g = world["red"], world["g"]
    role, member = red.admin_role, red.member
    replies = [
        ("!ai policy tool deny web_search", "`web_search` is now denied for the whole server."),
        (f"!ai policy tool allow scrape {role.mention}", f"`scrape` is now allowed for {role.mention}."),
        (f"!ai policy tool inherit scrape {role.id}", f"Removed the rule for `scrape` on {role.mention}"),
        (f"!ai budget role {role.mention} 500", f"Daily budget of role {role.mention} set to 500 tokens."),
        (f"!ai budget member {member.id} 200", f"Daily budget of {member.mention} set to 200 tokens."),
        (
            f"!ai budget member {member.id} none",
            f"Budget of {member.mention} removed; the next rule applies.",
        ),
        (f"!ai budget bypass add {role.id}", f"{role.mention} now skips budgets and rate limits."),
        (f"!ai budget bypass remove {role.id}", f"{role.mention} no longer skips budgets and rate limits."),
        ("!ai persona create guide You guide.", "Created persona `guide` for this server."),
        ("!ai persona edit guide temperature 0.5", "Persona `guide`: `temperature` updated."),
        ("!ai persona edit guide greeting none", "Persona `guide`: `greeting` cleared."),
        ("!ai persona edit guide greeting Welcome!", "Persona `guide`: `greeting` updated."),
        ("!ai persona use guide", "Persona `guide` is now active for this server.\n\nguide: Welcome!"),
        ("!ai persona use channel none", "No persona chosen for this channel any more."),
    ]
    for command, expected in replies:
        assert expected in await admin(red, command), command
    assert (await system_prompt(red, provider))["messages"][0]["content"] == "You guide."
    assert "Only server admins" in text_of(await say(red, "!ai persona delete guide"))
    assert "Deleted persona `guide` from this server." in await admin(red, "!ai persona delete guide")
    assert world["cog"].governance.rules(g).budgets.roles == {role.id: 500}
