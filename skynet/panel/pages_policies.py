"""Policies of one server: tool policies, role and member budgets, bypass roles.

Each form calls the function its command calls (``store_tool_policy`` for ``[p]ai policy tool``,
``store_budget_override`` for ``[p]ai budget role|member``, ``store_bypass`` for
``[p]ai budget bypass``), with roles, members and channels looked up in this server only (the
commands' ``find_*``), so the panel accepts and refuses exactly what the command does, with the
same words. An id of another server's role, member or channel is refused like a wrong mention.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Tuple

import discord
from aiohttp import web

from ..commands.targets import find_channel, find_member, find_role
from ..engine.errors import SkynetError
from ..engine.governance.budgets import bypass_change_text, format_amount, override_change_text
from ..engine.governance.policy import ALLOW, DENY, INHERIT, ToolPolicies, policy_change_text
from ..i18n import _
from . import html
from .app import panel_of, render, session_of
from .forms import (
    channel_name,
    grouped_select,
    guild_of,
    handler,
    hidden,
    member_name,
    role_name,
    role_options,
    text_field,
)
from .pages_usage import admin_nav

MAX_MEMBER_HINTS = 200  # members suggested in the member fields (any member can be typed)
MEMBERS_LIST = "server-members"


async def policies(
    request: web.Request, *, notice: str = "", error: str = "", status: int = 200
) -> web.Response:
    guild = guild_of(request)
    host = panel_of(request).host
    csrf = session_of(request).csrf
    rules = host.governance.rules(guild.id)
    base = f"/g/{guild.id}/policies"
    body = admin_nav(guild.id) + _member_hints(guild)
    effective, refused = _effective_section(request, host, guild, rules, base)
    if refused and not error:
        error, status = refused, 400
    body += effective
    body += _tools_section(host, guild, rules.tools, csrf, base)
    body += _overrides_section(guild, rules.budgets, csrf, base)
    body += _bypass_section(guild, rules.budgets.bypass_roles, csrf, base)
    return render(
        request,
        _("Policies of {server}").format(server=guild.name),
        body,
        notice=notice or None,
        error=error or None,
        status=status,
    )


def _member_hints(guild: Any) -> str:
    """Suggestions for the member fields (a datalist: no script needed)."""
    members = sorted((m for m in guild.members if not m.bot), key=lambda m: m.display_name.lower())
    options = "".join(
        f'<option value="{m.id}">{html.esc(m.display_name)}</option>' for m in members[:MAX_MEMBER_HINTS]
    )
    return f'<datalist id="{MEMBERS_LIST}">{options}</datalist>'


def _member_field(ident: str, label: str, value: str = "") -> str:
    return text_field("member", value, label, 22, ident=ident, extra=f' list="{MEMBERS_LIST}"')


# -- what applies to one member in one channel (``[p]ai policy show``) ------------------------------

MENTION = re.compile(r"<(#|@&|@!?)(\d{15,21})>")


def _shown_line(guild: Any, line: str) -> str:
    """A line of ``policy show`` as HTML: mentions as names, `code` and **bold** kept."""

    def named(match: "re.Match[str]") -> str:
        kind, ident = match.group(1), int(match.group(2))
        if kind == "#":
            return channel_name(guild, ident)
        return role_name(guild, ident) if kind == "@&" else member_name(guild, ident)

    text = html.esc(MENTION.sub(named, line))
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _effective_section(request: web.Request, host: Any, guild: Any, rules: Any, base: str) -> Tuple[str, str]:
    """The ``policy show`` of a member in a channel (a GET form: nothing changes); returns the
    section and the refusal of a wrong member or channel, in the command's words."""
    member_text = request.query.get("member", "").strip()
    channel_text = request.query.get("channel", "").strip()
    channels = [(str(c.id), f"#{c.name}") for c in guild.text_channels]
    form = (
        f'<form method="get" action="{html.esc(base)}" class="row">'
        + _member_field("f-effective-member", _("Member (name or id)"), member_text)
        + grouped_select("channel", [("", channels)], _("Channel"), channel_text, ident="f-effective-channel")
        + f'<button type="submit">{html.esc(_("Show"))}</button></form>'
    )
    shown, refused = "", ""
    if member_text:
        try:
            member = find_member(guild, member_text)
            channel = find_channel(guild, channel_text or (channels[0][0] if channels else ""))
            lines = host.policy_lines(rules, member, channel)
            shown = (
                '<ul id="effective-policy">'
                + "".join(f"<li>{_shown_line(guild, panel_of(request).say(line))}</li>" for line in lines)
                + "</ul>"
            )
        except SkynetError as exc:
            refused = panel_of(request).say(exc.message)
    return (
        f'<section id="effective"><h2>{html.esc(_("What applies to a member"))}</h2>'
        + '<p class="hint">'
        + html.esc(_("Everything that applies to a member in a channel, and where each decision comes from."))
        + "</p>"
        + form
        + shown
        + "</section>",
        refused,
    )


# -- tool policies ----------------------------------------------------------------------------------


def _rule_label(action: str) -> str:
    return _("allow") if action == ALLOW else _("deny")


def _remove_rule(csrf: str, base: str, tool: str, target: str) -> str:
    return html.form(
        f"{base}/tool",
        csrf,
        hidden("action", INHERIT) + hidden("tool", tool) + hidden("target", target),
        _("Remove"),
        css="inline",
    )


def _rules_cell(
    tool: str, by_target: Mapping[int, Mapping[str, str]], name: Any, mention: str, csrf: str, base: str
) -> str:
    entries = []
    for target_id, rules in sorted(by_target.items()):
        if tool in rules:
            entries.append(
                f"{html.esc(name(target_id))}: <strong>{html.esc(_rule_label(rules[tool]))}</strong> "
                + _remove_rule(csrf, base, tool, mention.format(target_id))
            )
    return "<br>".join(entries)


def _tools_section(host: Any, guild: Any, tools: ToolPolicies, csrf: str, base: str) -> str:
    names = sorted(host.tool_service.registry.names())
    rows = []
    for tool in names:
        server = tools.server.get(tool)
        server_cell = (
            f"<strong>{html.esc(_rule_label(server))}</strong> " + _remove_rule(csrf, base, tool, "")
            if server
            else html.esc(_("no rule"))
        )
        rows.append(
            [
                (f"<code>{html.esc(tool)}</code>", tool),
                (server_cell, server or ""),
                (
                    _rules_cell(tool, tools.channels, lambda i: channel_name(guild, i), "<#{}>", csrf, base),
                    "",
                ),
                (_rules_cell(tool, tools.roles, lambda i: role_name(guild, i), "<@&{}>", csrf, base), ""),
                (_rules_cell(tool, tools.members, lambda i: member_name(guild, i), "<@{}>", csrf, base), ""),
            ]
        )
    targets = [
        ("", [("", _("the whole server"))]),
        (_("Channels"), [(f"<#{c.id}>", f"#{c.name}") for c in guild.text_channels]),
        (_("Roles"), [(f"<@&{value}>", text) for value, text in role_options(guild)]),
    ]
    form = html.form(
        f"{base}/tool",
        csrf,
        html.select(
            "action",
            [(ALLOW, _("allow")), (DENY, _("deny")), (INHERIT, _("inherit (remove the rule)"))],
            ALLOW,
            _("Rule"),
        )
        + html.select("tool", [(n, n) for n in names], None, _("Tool"))
        + grouped_select("target", targets, _("For"), ident="f-policy-target")
        + _member_field("f-policy-member", _("or a member (name or id)")),
        _("Save"),
        css="row",
    )
    return (
        f'<section id="tool-policies"><h2>{html.esc(_("Tool policies"))}</h2>'
        + '<p class="hint">'
        + html.esc(
            _(
                "Member rules beat role rules, which beat channel rules, which beat server rules; at the "
                "same level deny beats allow. Without a rule a tool is allowed."
            )
        )
        + "</p>"
        + html.table(
            [_("Tool"), _("Whole server"), _("Channels"), _("Roles"), _("Members")],
            rows,
            table_id="tool-policies-table",
            empty=_("No tools."),
        )
        + form
        + "</section>"
    )


# -- role and member budgets, bypass roles ----------------------------------------------------------


def _override_rows(
    table: Mapping[int, float], unit: str, name: Any, key: str, field: str, csrf: str, base: str
) -> List:
    rows = []
    for target_id, amount in sorted(table.items(), key=lambda item: str(name(item[0])).lower()):
        remove = html.form(
            f"{base}/{key}",
            csrf,
            hidden(field, str(target_id)) + hidden("amount", "none"),
            _("Remove"),
            css="inline",
        )
        rows.append(
            [
                (html.esc(name(target_id)), str(name(target_id)).lower()),
                (html.esc(format_amount(amount, unit)), amount),
                (remove, ""),
            ]
        )
    return rows


def _overrides_section(guild: Any, budgets: Any, csrf: str, base: str) -> str:
    unit = budgets.unit
    body = f'<section id="budget-overrides"><h2>{html.esc(_("Role and member budgets"))}</h2>'
    body += (
        '<p class="hint">'
        + html.esc(
            _(
                "Daily budgets per member, in the unit of the member budget ({unit}). A member's own "
                "budget beats role budgets (with several roles, the highest counts), which beat the "
                "server default. Leave the amount empty or type `none` to remove one."
            ).format(unit=_("tokens") if unit == "tokens" else "USD")
        )
        + "</p>"
    )
    body += f"<h3>{html.esc(_('Roles'))}</h3>"
    body += html.table(
        [_("Role"), _("Daily budget"), ""],
        _override_rows(budgets.roles, unit, lambda i: role_name(guild, i), "budget-role", "role", csrf, base),
        table_id="role-budgets",
        empty=_("No role budgets."),
    )
    body += html.form(
        f"{base}/budget-role",
        csrf,
        grouped_select("role", [("", role_options(guild))], _("Role"), ident="f-budget-role")
        + text_field("amount", "", _("Daily budget"), 10, ident="f-role-amount"),
        _("Save"),
        css="row",
    )
    body += f"<h3>{html.esc(_('Members'))}</h3>"
    body += html.table(
        [_("Member"), _("Daily budget"), ""],
        _override_rows(
            budgets.members, unit, lambda i: member_name(guild, i), "budget-member", "member", csrf, base
        ),
        table_id="member-budgets",
        empty=_("No member budgets."),
    )
    body += html.form(
        f"{base}/budget-member",
        csrf,
        _member_field("f-budget-member", _("Member (name or id)"))
        + text_field("amount", "", _("Daily budget"), 10, ident="f-member-amount"),
        _("Save"),
        css="row",
    )
    return body + "</section>"


def _bypass_section(guild: Any, bypass: Iterable[int], csrf: str, base: str) -> str:
    rows = []
    for role_id in sorted(bypass, key=lambda i: role_name(guild, i).lower()):
        remove = html.form(
            f"{base}/bypass",
            csrf,
            hidden("action", "remove") + hidden("role", str(role_id)),
            _("Remove"),
            css="inline",
        )
        rows.append([(html.esc(role_name(guild, role_id)), role_name(guild, role_id).lower()), (remove, "")])
    return (
        f'<section id="bypass-roles"><h2>{html.esc(_("Bypass roles"))}</h2>'
        + '<p class="hint">'
        + html.esc(_("Members with one of these roles skip budgets and rate limits."))
        + "</p>"
        + html.table([_("Role"), ""], rows, table_id="bypass-table", empty=_("No bypass roles."))
        + html.form(
            f"{base}/bypass",
            csrf,
            hidden("action", "add")
            + grouped_select("role", [("", role_options(guild))], _("Role"), ident="f-bypass-role"),
            _("Add"),
            css="row",
        )
        + "</section>"
    )


# -- the forms' actions -----------------------------------------------------------------------------


def _target_label(found: Any) -> str:
    if found is None:
        return _("the whole server")
    if isinstance(found, discord.Member):
        return found.display_name
    if isinstance(found, discord.Role):
        return f"@{found.name}"
    return f"#{found.name}"


async def _tool_policy(host: Any, guild: Any, form: Dict[str, str]) -> str:
    action = form.get("action", "")
    target = form.get("member", "").strip() or form.get("target", "").strip() or None
    name, found = await host.store_tool_policy(guild, action, form.get("tool", ""), target)
    return policy_change_text(action, name, _target_label(found))


async def _budget_role(host: Any, guild: Any, form: Dict[str, str]) -> str:
    role = find_role(guild, form.get("role", ""))
    amount = form.get("amount", "").strip() or "none"
    value, unit = await host.store_budget_override(guild.id, "roles", role.id, amount)
    return override_change_text(_("role {role}").format(role=f"@{role.name}"), value, unit)


async def _budget_member(host: Any, guild: Any, form: Dict[str, str]) -> str:
    member = find_member(guild, form.get("member", ""))
    amount = form.get("amount", "").strip() or "none"
    value, unit = await host.store_budget_override(guild.id, "members", member.id, amount)
    return override_change_text(member.display_name, value, unit)


async def _bypass(host: Any, guild: Any, form: Dict[str, str]) -> str:
    action = "remove" if form.get("action") == "remove" else "add"
    role = await host.store_bypass(guild, action, form.get("role", "").strip() or None)
    return bypass_change_text(action == "add", f"@{role.name}")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/g/{guild_id}/policies", policies)
    for name, action in (
        ("tool", _tool_policy),
        ("budget-role", _budget_role),
        ("budget-member", _budget_member),
        ("bypass", _bypass),
    ):
        router.add_post(f"/g/{{guild_id}}/policies/{name}", handler("policies", name, action, policies))
