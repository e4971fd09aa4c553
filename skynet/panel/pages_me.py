"""My data: a member's own usage, memories and instructions in every server; export and delete."""

from __future__ import annotations

import json
from typing import Any, List, Optional

from aiohttp import web

from ..engine.errors import SkynetError
from ..i18n import _
from . import html
from .access import DMS
from .app import panel_of, render, session_of, viewer_of
from .pages_usage import server_name
from .usage_data import day_label


async def me(
    request: web.Request, *, notice: Optional[str] = None, error: Optional[str] = None
) -> web.Response:
    panel, viewer = panel_of(request), viewer_of(request)
    host = panel.host
    csrf = session_of(request).csrf
    places: List[int] = sorted(viewer.member_of, key=lambda g: server_name(panel.bot, g).lower()) + [DMS]
    body = ""
    memories_failed: Optional[str] = None
    for guild_id in places:
        report = await panel.usage_data.member(guild_id, viewer.user_id, 30)
        try:
            records = await host.memory_service.list_memories(guild_id or None, viewer.user_id)
        except SkynetError as exc:
            records, memories_failed = [], panel.say(exc.message)
        if not report.totals.requests and not records and guild_id == DMS:
            continue
        t = report.totals
        body += f'<section class="place"><h2>{html.esc(server_name(panel.bot, guild_id))}</h2>'
        body += (
            "<p>"
            + html.esc(
                _("Last 30 days: {requests} requests, {tokens} tokens, about {cost}.").format(
                    requests=html.number(t.requests),
                    tokens=html.number(t.total_tokens),
                    cost=html.money(t.cost_usd),
                )
            )
            + "</p>"
        )
        if t.requests:
            chart_id = f"me-{guild_id}"
            body += f'<div class="chart small"><canvas id="{chart_id}" data-chart="{chart_id}-data"></canvas></div>'
            body += html.json_block(
                f"{chart_id}-data",
                {
                    "labels": [day_label(d) for d, _c in report.days],
                    "requests": [c.requests for _d, c in report.days],
                    "tokens": [c.total_tokens for _d, c in report.days],
                    "names": {"requests": _("Requests"), "tokens": _("Tokens")},
                },
            )
        rows = [
            [
                (html.esc(r.id), r.id),
                (html.esc(r.text), r.text),
                (
                    html.form(
                        "/me/memories/delete",
                        csrf,
                        f'<input type="hidden" name="id" value="{html.esc(r.id)}">'
                        f'<input type="hidden" name="guild" value="{guild_id}">',
                        _("Delete"),
                        css="inline",
                    ),
                    "",
                ),
            ]
            for r in records
        ]
        body += html.table(
            [_("Id"), _("Memory"), ""], rows, empty=_("I don't remember anything about you here.")
        )
        body += "</section>"
    if memories_failed:
        body = f'<p class="error">{html.esc(memories_failed)}</p>' + body
    prompt = host.personas.myprompt(viewer.user_id)
    body += f"<section><h2>{html.esc(_('Your own instructions'))}</h2>"
    body += (
        f"<blockquote>{html.esc(prompt)}</blockquote>"
        if prompt
        else f'<p class="empty">{html.esc(_("none"))}</p>'
    )
    body += "</section>"
    body += (
        f"<section><h2>{html.esc(_('Export or delete'))}</h2>"
        f'<p><a href="/me/export.json" download>{html.esc(_("Download everything stored about you (JSON)"))}</a></p>'
        + html.form(
            "/me/delete",
            csrf,
            '<label><input type="checkbox" name="confirm" value="yes"> '
            + html.esc(_("Yes, delete my usage, memories, conversation and instructions everywhere."))
            + "</label>",
            _("Delete my data"),
            css="danger",
        )
        + "</section>"
    )
    return render(request, _("My data"), body, notice=notice, error=error)


async def delete_memory(request: web.Request) -> web.Response:
    panel, viewer = panel_of(request), viewer_of(request)
    form = request["form"]
    try:
        guild_id = int(str(form.get("guild", "0")))
    except ValueError:
        guild_id = 0
    memory_id = str(form.get("id", "")).strip()
    # Only one's own memories: the engine filters on the member, whatever id or server is sent.
    removed = await panel.host.memory_service.forget(guild_id or None, viewer.user_id, [memory_id])
    if not removed:
        return await me(request, error=_("No memory of yours here has that id; see `ai memories list`."))
    return await me(request, notice=_("Forgot {count} memory.").format(count=removed))


async def export(request: web.Request) -> web.Response:
    panel, viewer = panel_of(request), viewer_of(request)
    files = await panel.host.red_get_data_for_user(user_id=viewer.user_id)
    data: Any = {name: json.loads(buffer.getvalue()) for name, buffer in files.items()}
    if len(data) == 1:
        data = next(iter(data.values()))
    return web.Response(
        text=json.dumps(data, indent=2),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="skynet-my-data.json"'},
    )


async def delete_all(request: web.Request) -> web.Response:
    panel, viewer = panel_of(request), viewer_of(request)
    if request["form"].get("confirm") != "yes":
        return await me(request, error=_("Tick the box to confirm that everything should be deleted."))
    await panel.host.red_delete_data_for_user(requester="user", user_id=viewer.user_id)
    panel.usage_data.forget()
    panel.changed(viewer, 0, "deleted their own data")
    return await me(request, notice=_("Everything stored about you was deleted."))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/me", me)
    router.add_post("/me/memories/delete", delete_memory)
    router.add_get("/me/export.json", export)
    router.add_post("/me/delete", delete_all)
