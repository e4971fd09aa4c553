"""Admin pages of one server: budgets (spend against limits) and the memory browser."""

from __future__ import annotations

import time
from typing import Any, List, Optional

from aiohttp import web

from ..engine.errors import SkynetError
from ..engine.governance.budgets import format_amount
from ..engine.memory.recall import memory_place, place
from ..i18n import _
from . import html
from .app import guild_id_of, panel_of, render, session_of, viewer_of
from .pages_usage import admin_nav, member_name, server_name
from .usage_data import day_label

PAGE_SIZE = 50


def _when(timestamp: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(timestamp)))
    except (TypeError, ValueError):
        return "–"


def _guild(request: web.Request) -> Any:
    guild_id = guild_id_of(request)
    guild = panel_of(request).bot.get_guild(guild_id)
    if guild is None:  # DMs have no budgets page or memory browser of their own
        raise web.HTTPNotFound()
    return guild


# -- budgets -----------------------------------------------------------------------------------


async def budgets(request: web.Request) -> web.Response:
    guild = _guild(request)
    panel = panel_of(request)
    host = panel.host
    rules = host.governance.rules(guild.id).budgets
    unit = rules.unit
    show = lambda amount, u=unit: format_amount(amount, u) if amount is not None else _("none")  # noqa: E731
    facts = [
        (_("Each member, per day"), show(rules.member_amount)),
        (_("Whole server, per day"), show(rules.server_amount, rules.server_unit)),
        (_("Days start at"), f"{rules.reset_hour:02d}:00 UTC"),
        (_("Bypass roles"), ", ".join(_role(guild, r) for r in rules.bypass_roles) or _("none")),
    ]
    server = host.governor.server_remaining(rules, guild.id)
    body = (
        admin_nav(guild.id)
        + '<dl class="cards">'
        + "".join(f"<div><dt>{html.esc(k)}</dt><dd>{html.esc(v)}</dd></div>" for k, v in facts)
        + "</dl>"
    )
    if rules.server_amount is not None:
        body += (
            "<p>"
            + html.esc(
                _("Server today: {spent} of {limit} spent.").format(
                    spent=format_amount(server.spent, rules.server_unit),
                    limit=format_amount(rules.server_amount, rules.server_unit),
                )
            )
            + "</p>"
        )
    rows = []
    spenders = host.governor.ledger.dump(guild.id).get("members", {})
    for user_id in spenders:
        member = guild.get_member(int(user_id))
        if member is None:
            continue
        left = host.remaining_for(member, guild)
        if not left.spent and left.limit is None:
            continue
        used = left.spent / left.limit if left.limit else 0.0
        rows.append(
            [
                (html.esc(member.display_name), member.display_name.lower()),
                (html.esc(format_amount(left.spent, left.unit)), left.spent),
                (
                    html.esc(format_amount(left.limit, left.unit) if left.limit is not None else _("none")),
                    left.limit or 0,
                ),
                (html.esc(_clean_source(guild, left.source)), left.source),
                (html.esc(html.percent(left.spent, left.limit) if left.limit else "–"), used),
            ]
        )
    body += (
        f"<section><h2>{html.esc(_('Members today'))}</h2>"
        + html.table(
            [_("Member"), _("Spent"), _("Limit"), _("From"), _("Used")],
            rows,
            table_id="budget-members",
            empty=_("Nobody has spent anything today."),
        )
        + "</section>"
    )
    role_rows = [
        [
            (html.esc(_role(guild, role_id)), _role(guild, role_id)),
            (html.esc(format_amount(amount, unit)), amount),
            (html.number(len(getattr(guild.get_role(role_id), "members", []) or [])), 0),
        ]
        for role_id, amount in rules.roles.items()
    ]
    body += (
        f"<section><h2>{html.esc(_('Role budgets (per member)'))}</h2>"
        + html.table(
            [_("Role"), _("Daily budget"), _("Members")],
            role_rows,
            table_id="budget-roles",
            empty=_("No role budgets."),
        )
        + "</section>"
    )
    report = await panel.usage_data.guild(guild.id, 30)
    in_usd = rules.server_unit == "usd"
    series = [round(c.cost_usd, 6) if in_usd else c.total_tokens for _d, c in report.days]
    body += f"<section><h2>{html.esc(_('Server spend per day'))}</h2>"
    body += (
        '<div class="chart"><canvas id="budget-chart"></canvas></div>'
        + html.json_block(
            "budget-data",
            {
                "labels": [day_label(d) for d, _c in report.days],
                "spend": series,
                "limit": rules.server_amount,
                "names": {
                    "spend": _("Spent (USD)") if in_usd else _("Spent (tokens)"),
                    "limit": _("Daily server budget"),
                },
            },
        )
        + "</section>"
    )
    return render(request, _("Budgets in {server}").format(server=guild.name), body)


def _role(guild: Any, role_id: int) -> str:
    role = guild.get_role(int(role_id))
    return f"@{role.name}" if role is not None else str(role_id)


def _clean_source(guild: Any, source: str) -> str:
    """Budget sources name roles as mentions (for Discord); show their names here."""
    for role in guild.roles:
        source = source.replace(f"<@&{role.id}>", f"@{role.name}")
    return source


# -- memory browser ----------------------------------------------------------------------------


async def memory(
    request: web.Request, *, notice: Optional[str] = None, error: Optional[str] = None
) -> web.Response:
    guild = _guild(request)
    panel = panel_of(request)
    csrf = session_of(request).csrf
    query = str(request.query.get("q", "")).strip()
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    body = admin_nav(guild.id)
    body += (
        f'<form method="get" class="search"><input type="search" name="q" value="{html.esc(query)}" '
        f'aria-label="{html.esc(_("Search memories"))}"><button type="submit">{html.esc(_("Search"))}</button></form>'
    )
    service = panel.host.memory_service
    try:
        store = await service.ensure_open()
        records = await store.get(None, memory_place(guild.id))
        documents = await service.list_documents(guild.id)
    except SkynetError as exc:
        body += f'<p class="error">{html.esc(panel.say(exc.message))}</p>'
        records, documents = [], []
    if query:
        folded = query.casefold()
        records = [r for r in records if folded in r.text.casefold()]
    records = list(reversed(records))  # newest first
    pages = max(1, (len(records) + PAGE_SIZE - 1) // PAGE_SIZE)
    shown = records[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    rows = []
    for record in shown:
        who = member_name(panel.bot, guild.id, str(record.meta.get("user", "")))
        delete = html.form(
            f"/g/{guild.id}/memory/delete",
            csrf,
            f'<input type="hidden" name="id" value="{html.esc(record.id)}">',
            _("Delete"),
            css="inline",
        )
        rows.append(
            [
                (html.esc(record.id), record.id),
                (html.esc(who), who.lower()),
                (html.esc(record.text), record.text),
                (html.esc(_when(record.meta.get("at"))), record.meta.get("at", 0)),
                (delete, ""),
            ]
        )
    body += f"<section><h2>{html.esc(_('Memories'))} ({len(records)})</h2>"
    body += html.table(
        [_("Id"), _("Member"), _("Memory"), _("Saved"), ""],
        rows,
        table_id="memories",
        empty=_("No memories."),
    )
    if pages > 1:
        links = []
        for n in range(1, pages + 1):
            href = f"?page={n}" + (f"&amp;q={html.esc(query)}" if query else "")
            links.append(f"<strong>{n}</strong>" if n == number else f'<a href="{href}">{n}</a>')
        body += '<p class="pages">' + " ".join(links) + "</p>"
    body += "</section>"
    doc_rows = [
        [
            (html.esc(d.name), d.name),
            (html.number(d.chunks), d.chunks),
            (html.esc(member_name(panel.bot, guild.id, str(d.user_id))), d.user_id),
            (html.esc(_when(d.at)), d.at),
            (
                html.form(
                    f"/g/{guild.id}/documents/remove",
                    csrf,
                    f'<input type="hidden" name="id" value="{html.esc(d.id)}">',
                    _("Remove"),
                    css="inline",
                ),
                "",
            ),
        ]
        for d in documents
    ]
    body += (
        f"<section><h2>{html.esc(_('Documents'))}</h2>"
        + html.table(
            [_("Document"), _("Passages"), _("Added by"), _("Added"), ""],
            doc_rows,
            table_id="documents",
            empty=_("No documents."),
        )
        + "</section>"
    )
    body += _windows(panel, guild, csrf)
    return render(
        request, _("Memory in {server}").format(server=guild.name), body, notice=notice, error=error
    )


def _windows(panel: Any, guild: Any, csrf: str) -> str:
    rows = []
    memory = panel.host.memory
    for key in memory.conversations():
        if not key.startswith("channel:"):
            continue
        channel = guild.get_channel_or_thread(int(key.split(":", 1)[1]))
        turns = memory.turns(key)
        if channel is None or not turns:
            continue
        last = turns[-1].content
        clear = html.form(
            f"/g/{guild.id}/windows/clear",
            csrf,
            f'<input type="hidden" name="channel" value="{channel.id}">',
            _("Clear"),
            css="inline",
        )
        rows.append(
            [
                (html.esc(f"#{channel.name}"), channel.name),
                (html.number(len(turns)), len(turns)),
                (html.esc(_("yes") if memory.summary(key) else _("no")), bool(memory.summary(key))),
                (html.esc(last[:120]), last[:120]),
                (clear, ""),
            ]
        )
    return (
        f"<section><h2>{html.esc(_('Conversation windows'))}</h2>"
        + html.table(
            [_("Channel"), _("Messages"), _("Summary"), _("Last message"), ""],
            rows,
            table_id="windows",
            empty=_("No channel has a remembered conversation."),
        )
        + "</section>"
    )


async def memory_delete(request: web.Request) -> web.Response:
    guild = _guild(request)
    panel = panel_of(request)
    memory_id = str(request["form"].get("id", "")).strip()
    store = await panel.host.memory_service.ensure_open()
    # Scoped to this server's collection and records: an id from another server deletes nothing.
    removed = await store.delete_ids([memory_id], {"guild": place(guild.id)}, memory_place(guild.id))
    if not removed:
        return await memory(request, error=_("No memory of this server has that id."))
    panel.changed(viewer_of(request), guild.id, f"memory deleted: {memory_id}")
    return await memory(request, notice=_("Forgot memory {id}.").format(id=memory_id))


async def document_remove(request: web.Request) -> web.Response:
    guild = _guild(request)
    panel = panel_of(request)
    doc_id = str(request["form"].get("id", "")).strip()
    removed = await panel.host.memory_service.remove_document(guild.id, doc_id) if doc_id else 0
    if not removed:
        return await memory(request, error=_("No document of this server has that id."))
    panel.changed(viewer_of(request), guild.id, f"document removed: {doc_id}")
    return await memory(request, notice=_("Removed the document ({count} passages).").format(count=removed))


async def window_clear(request: web.Request) -> web.Response:
    guild = _guild(request)
    panel = panel_of(request)
    try:
        channel = guild.get_channel_or_thread(int(str(request["form"].get("channel", ""))))
    except ValueError:
        channel = None
    if channel is None:  # only this server's channels
        return await memory(request, error=_("That channel is not in this server."))
    dropped = panel.host.memory.clear(f"channel:{channel.id}")
    await panel.host.memory_service.windows.flush()
    panel.changed(viewer_of(request), guild.id, f"conversation cleared: #{channel.name}")
    return await memory(
        request,
        notice=_("Cleared {count} remembered messages in #{channel}.").format(
            count=dropped, channel=channel.name
        ),
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/g/{guild_id}/budgets", budgets)
    router.add_get("/g/{guild_id}/memory", memory)
    router.add_post("/g/{guild_id}/memory/delete", memory_delete)
    router.add_post("/g/{guild_id}/documents/remove", document_remove)
    router.add_post("/g/{guild_id}/windows/clear", window_clear)


__all__: List[str] = ["add_routes", "server_name"]
