"""The server list and the usage page: charts, sortable tables, CSV downloads."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

from aiohttp import web

from ..engine.usage.series import SeriesCounts
from ..i18n import _
from . import html
from .access import DMS
from .app import guild_id_of, panel_of, render, viewer_of
from .usage_data import PERIODS, UsageReport, day_label, period_days, to_csv


def server_name(bot: Any, guild_id: int) -> str:
    if guild_id == DMS:
        return _("Direct messages")
    guild = bot.get_guild(guild_id)
    return guild.name if guild is not None else str(guild_id)


def channel_name(bot: Any, guild_id: int, key: str) -> str:
    guild = bot.get_guild(guild_id) if guild_id else None
    channel = guild.get_channel_or_thread(int(key)) if guild is not None and key.isdigit() else None
    return f"#{channel.name}" if channel is not None else f"#{key}"


def member_name(bot: Any, guild_id: int, key: str) -> str:
    guild = bot.get_guild(guild_id) if guild_id else None
    member = guild.get_member(int(key)) if guild is not None and key.isdigit() else None
    if member is None and key.isdigit():
        member = bot.get_user(int(key))
    return member.display_name if member is not None else key


def admin_nav(guild_id: int) -> str:
    links = [
        (f"/g/{guild_id}/usage", _("Usage")),
        (f"/g/{guild_id}/budgets", _("Budgets")),
        (f"/g/{guild_id}/memory", _("Memory")),
        (f"/g/{guild_id}/settings", _("Settings")),
        (f"/g/{guild_id}/policies", _("Policies")),
        (f"/g/{guild_id}/personas", _("Personas")),
    ]
    if guild_id == DMS:
        links = links[:1]
    return '<p class="subnav">' + " · ".join(f'<a href="{h}">{html.esc(t)}</a>' for h, t in links) + "</p>"


async def home(request: web.Request) -> web.Response:
    panel, viewer = panel_of(request), viewer_of(request)
    rows = []
    guilds = sorted(panel.bot.guilds, key=lambda g: g.name.lower())
    for guild in guilds:
        if viewer.may_admin(guild.id):
            rows.append(f"<li><strong>{html.esc(guild.name)}</strong> {admin_nav(guild.id)}</li>")
    if viewer.owner:
        rows.append(f"<li><strong>{html.esc(_('Direct messages'))}</strong> {admin_nav(DMS)}</li>")
    body = ""
    if rows:
        body += f'<h2>{html.esc(_("Servers you manage"))}</h2><ul class="servers">{"".join(rows)}</ul>'
    body += (
        f'<h2>{html.esc(_("Your own data"))}</h2><p><a href="/me">'
        f"{html.esc(_('Your usage, memories and instructions in every server; export or delete them.'))}</a></p>"
    )
    return render(request, _("skynet panel"), body)


def _summary(report: UsageReport) -> str:
    t = report.totals
    answered = t.requests
    cards = [
        (_("Requests"), html.number(answered)),
        (_("Tokens"), html.number(t.total_tokens)),
        (_("Estimated cost"), html.money(t.cost_usd)),
        (_("Errors"), f"{html.number(t.errors)} ({html.percent(t.errors, answered)})"),
        (_("Refusals"), f"{html.number(t.refusals)} ({html.percent(t.refusals, answered + t.refusals)})"),
        (_("First text p50 / p95"), f"{html.ms(report.first_text[0])} / {html.ms(report.first_text[1])}"),
        (_("Complete p50 / p95"), f"{html.ms(report.complete[0])} / {html.ms(report.complete[1])}"),
    ]
    return (
        '<dl class="cards">'
        + "".join(f"<div><dt>{html.esc(k)}</dt><dd>{html.esc(v)}</dd></div>" for k, v in cards)
        + "</dl>"
    )


def _cells(counts: SeriesCounts) -> List[Tuple[str, Any]]:
    return [
        (html.number(counts.requests), counts.requests),
        (html.number(counts.total_tokens), counts.total_tokens),
        (html.money(counts.cost_usd), round(counts.cost_usd, 6)),
        (html.number(counts.errors), counts.errors),
    ]


def chart_data(report: UsageReport) -> dict:
    return {
        "labels": [day_label(day) for day, _c in report.days],
        "requests": [c.requests for _d, c in report.days],
        "tokens": [c.total_tokens for _d, c in report.days],
        "cost": [round(c.cost_usd, 6) for _d, c in report.days],
        "names": {"requests": _("Requests"), "tokens": _("Tokens"), "cost": _("Estimated cost (USD)")},
    }


def period_links(base: str, days: int) -> str:
    links = []
    for option in PERIODS:
        label = _("{days} days").format(days=option)
        links.append(
            f"<strong>{html.esc(label)}</strong>"
            if option == days
            else f'<a href="{base}?days={option}">{html.esc(label)}</a>'
        )
    return '<p class="periods">' + " · ".join(links) + "</p>"


def name_book(bot: Any, guild_id: int, report: UsageReport) -> Dict[str, Dict[str, str]]:
    """The names of the report's channels and members, looked up on the event loop (Discord's
    cache), so the page itself can be built on a worker thread."""
    return {
        "channel": {key: channel_name(bot, guild_id, key) for key, _c in report.channels},
        "member": {key: member_name(bot, guild_id, key) for key, _c in report.members},
    }


def usage_body(names: Dict[str, Dict[str, str]], guild_id: int, report: UsageReport, days: int) -> str:
    """The usage page's content (also the dashboard cog's third-party page)."""
    base = f"/g/{guild_id}/usage"
    heads = [_("Requests"), _("Tokens"), _("Estimated cost"), _("Errors")]
    csv_link = lambda table: f'<a class="csv" href="{base}.csv?table={table}&amp;days={days}">CSV</a>'  # noqa: E731
    member = names["member"]
    channel = names["channel"]
    members = [[(html.esc(member[key]), member[key].lower()), *_cells(c)] for key, c in report.members]
    more = ""
    if report.member_count > len(report.members):
        more = (
            '<p class="empty">'
            + html.esc(
                _("The {shown} members with the most tokens of {count}; the CSV has them all.").format(
                    shown=len(report.members), count=report.member_count
                )
            )
            + "</p>"
        )
    tools = [
        [
            (html.esc(name), name),
            (html.number(c.requests), c.requests),
            (
                html.percent(c.requests - c.errors, c.requests),
                (c.requests - c.errors) / c.requests if c.requests else 0,
            ),
            (html.ms(p50), p50 or 0),
            (html.ms(p95), p95 or 0),
        ]
        for name, c, (p50, p95) in report.tools
    ]
    return (
        admin_nav(guild_id)
        + period_links(base, days)
        + _summary(report)
        + f"<section><h2>{html.esc(_('Per day'))} {csv_link('day')}</h2>"
        + '<div class="chart"><canvas id="usage-chart" role="img" aria-label="'
        + html.esc(_("Requests and tokens per day"))
        + '"></canvas></div>'
        + html.json_block("usage-data", chart_data(report))
        + "</section>"
        + f"<section><h2>{html.esc(_('Per model'))} {csv_link('model')}</h2>"
        + html.table(
            [_("Model")] + heads,
            ([(html.esc(k), k), *_cells(c)] for k, c in report.models),
            table_id="models",
        )
        + "</section>"
        + f"<section><h2>{html.esc(_('Per channel'))} {csv_link('channel')}</h2>"
        + html.table(
            [_("Channel")] + heads,
            (
                [(html.esc(channel[k]), channel[k]), *_cells(c)]
                for k, c in report.channels
            ),
            table_id="channels",
        )
        + "</section>"
        + f"<section><h2>{html.esc(_('Per member'))} {csv_link('member')}</h2>"
        + html.table([_("Member")] + heads, members, table_id="members")
        + more
        + "</section>"
        + f"<section><h2>{html.esc(_('Tool calls'))} {csv_link('tool')}</h2>"
        + html.table([_("Tool"), _("Calls"), _("Success rate"), "p50", "p95"], tools, table_id="tools")
        + "</section>"
    )


async def usage(request: web.Request) -> web.Response:
    guild_id = guild_id_of(request)
    panel = panel_of(request)
    days = period_days(request.query.get("days"))
    report = await panel.usage_data.guild(guild_id, days)
    title = _("Usage in {server}").format(server=server_name(panel.bot, guild_id))
    # The same report (cached until the next flush) gives the same page: build its HTML once,
    # so 20 loads a second cost the event loop almost nothing.
    cached = _bodies.get((guild_id, days))
    if cached is None or cached[0] is not report:
        if len(_bodies) > 256:
            _bodies.clear()
        names = name_book(panel.bot, guild_id, report)
        # Building the HTML of a year of days and 100 members takes milliseconds of pure Python:
        # on a worker thread the event loop keeps turning meanwhile.
        body = await asyncio.to_thread(usage_body, names, guild_id, report, days)
        cached = _bodies[(guild_id, days)] = (report, body)
    return render(request, title, cached[1])


_bodies: Dict[Tuple[int, int], Tuple[UsageReport, str]] = {}


async def usage_csv(request: web.Request) -> web.Response:
    guild_id = guild_id_of(request)
    panel = panel_of(request)
    days = period_days(request.query.get("days"))
    table = request.query.get("table", "day")
    report = await panel.usage_data.guild(guild_id, days, top=None)
    values = ["requests", "prompt_tokens", "completion_tokens", "cost_usd", "errors", "refusals"]
    def numbers(c: SeriesCounts) -> List[Any]:
        return [c.requests, c.prompt_tokens, c.completion_tokens, round(c.cost_usd, 6), c.errors, c.refusals]
    if table == "model":
        rows = [[k, *numbers(c)] for k, c in report.models]
    elif table == "channel":
        rows = [[k, channel_name(panel.bot, guild_id, k), *numbers(c)] for k, c in report.channels]
    elif table == "member":
        rows = [[k, member_name(panel.bot, guild_id, k), *numbers(c)] for k, c in report.members]
    elif table == "tool":
        rows = [[k, c.requests, c.errors, p50, p95] for k, c, (p50, p95) in report.tools]
    else:
        table = "day"
        rows = [[day_label(d), *numbers(c)] for d, c in report.days]
    header = {
        "day": ["day"] + values,
        "model": ["model"] + values,
        "channel": ["channel_id", "channel"] + values,
        "member": ["user_id", "member"] + values,
        "tool": ["tool", "calls", "failures", "p50_ms", "p95_ms"],
    }[table]
    filename = f"skynet-usage-{guild_id}-{table}-{days}d.csv"
    return web.Response(
        text=to_csv(header, rows),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", home)
    router.add_get("/g/{guild_id}/usage", usage)
    router.add_get("/g/{guild_id}/usage.csv", usage_csv)
