"""Settings of one server: listening, keywords, cooldowns, tool switches, budgets, rate limits.

Each form calls the same function as its command (``store_listen``, ``store_keywords``,
``store_budget``, ``store_rate``, ``settings.set_tool_switch``), so the panel accepts exactly
what the command accepts and refuses it with the same words.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from aiohttp import web

from ..engine.errors import InvalidValue
from ..engine.governance.budgets import budget_change_text
from ..engine.governance.listening import MAX_COOLDOWN, MODES
from ..engine.governance.numbers import parse_number
from ..engine.tools.switches import is_enabled
from ..i18n import _
from ..stores.settings import GUILD, Scope
from . import html
from .app import panel_of, render, session_of
from .forms import form_int, guild_of, handler
from .pages_usage import admin_nav

MODE_CHOICES = (("off", "off"), ("mention", "mention"), ("keyword", "keyword"), ("all", "all"))


def _channels(guild: Any):
    return [c for c in guild.text_channels]


async def settings(
    request: web.Request, *, notice: Optional[str] = None, error: Optional[str] = None, status: int = 200
) -> web.Response:
    guild = guild_of(request)
    host = panel_of(request).host
    csrf = session_of(request).csrf
    rules = host.governance.rules(guild.id)
    listen = rules.listen
    base = f"/g/{guild.id}/settings"
    channel_opts = [(str(c.id), f"#{c.name}") for c in _channels(guild)]
    overrides = [
        f"<li>#{html.esc(getattr(guild.get_channel(int(cid)), 'name', cid))}: <code>{html.esc(mode)}</code></li>"
        for cid, mode in ((cid, listen.mode_in(int(cid))[0]) for cid in _override_channels(host, guild.id))
    ]
    body = admin_nav(guild.id)
    body += f'<section id="listening"><h2>{html.esc(_("Listening"))}</h2>'
    body += html.form(
        f"{base}/listen",
        csrf,
        '<input type="hidden" name="scope" value="server">'
        + html.select("mode", MODE_CHOICES, listen.mode, _("Mode in this server")),
        _("Save"),
        css="row",
    )
    body += html.form(
        f"{base}/listen",
        csrf,
        '<input type="hidden" name="scope" value="channel">'
        + html.select("channel", channel_opts, None, _("Channel"))
        + html.select("mode", MODE_CHOICES, None, _("Mode there")),
        _("Set for the channel"),
        css="row",
    )
    if overrides:
        body += f"<p>{html.esc(_('Channel overrides:'))}</p><ul>{''.join(overrides)}</ul>"
    body += html.form(
        f"{base}/context",
        csrf,
        html.select(
            "state",
            (("on", _("on")), ("off", _("off"))),
            "on" if listen.context else "off",
            _("Context listening"),
        ),
        _("Save"),
        css="row",
    )
    body += html.form(
        f"{base}/cooldowns",
        csrf,
        html.text_input(
            "cooldown", f"{listen.cooldown:g}", _("Seconds between passive answers in a channel"), 6
        )
        + html.text_input(
            "user_cooldown",
            f"{listen.user_cooldown:g}",
            _("Seconds between passive answers to one member"),
            6,
        ),
        _("Save"),
        css="row",
    )
    body += html.form(
        f"{base}/keywords",
        csrf,
        html.text_input("words", "", _("Keywords (separated by spaces)"), 30)
        + html.select("action", (("add", _("add")), ("remove", _("remove"))), "add"),
        _("Apply"),
        css="row",
    )
    body += (
        "<p>"
        + html.esc(_("Keywords: {keywords}").format(keywords=", ".join(listen.keywords) or _("none")))
        + "</p>"
    )
    body += "</section>"
    body += _tools_section(host, guild, csrf, base)
    budgets = rules.budgets
    unit_opts = (("tokens", _("tokens")), ("usd", "USD"))
    body += f'<section id="budgets"><h2>{html.esc(_("Budgets"))}</h2>'
    for who, amount, unit, label in (
        ("user", budgets.member_amount, budgets.unit, _("Each member, per day")),
        ("server", budgets.server_amount, budgets.server_unit, _("Whole server, per day")),
    ):
        shown = "" if amount is None else f"{amount:g}"
        body += html.form(
            f"{base}/budget",
            csrf,
            f'<input type="hidden" name="who" value="{who}">'
            + html.text_input(f"amount-{who}", shown, label, 10).replace(
                f'name="amount-{who}"', 'name="amount"'
            )
            + html.select(f"unit-{who}", unit_opts, unit).replace(f'name="unit-{who}"', 'name="unit"'),
            _("Save"),
            css="row",
        )
    body += (
        '<p class="hint">'
        + html.esc(_("Leave the amount empty or type `none` to remove a budget."))
        + "</p></section>"
    )
    rates = rules.rates
    body += f'<section id="ratelimits"><h2>{html.esc(_("Rate limits"))}</h2>'
    for who, rate, label in (
        ("user", rates.member, _("Each member")),
        ("server", rates.server, _("Whole server")),
    ):
        requests = "" if rate is None else f"{rate.requests:g}"
        seconds = "" if rate is None else f"{rate.seconds:g}"
        body += html.form(
            f"{base}/ratelimit",
            csrf,
            f'<input type="hidden" name="who" value="{who}"><span class="label">{html.esc(label)}</span>'
            + html.text_input(f"requests-{who}", requests, _("requests"), 6).replace(
                f'name="requests-{who}"', 'name="requests"'
            )
            + html.text_input(f"seconds-{who}", seconds, _("per seconds"), 6).replace(
                f'name="seconds-{who}"', 'name="seconds"'
            ),
            _("Save"),
            css="row",
        )
    body += html.form(
        f"{base}/ratelimit",
        csrf,
        '<input type="hidden" name="who" value="off">',
        _("Remove both rate limits"),
    )
    body += "</section>"
    return render(
        request,
        _("Settings of {server}").format(server=guild.name),
        body,
        notice=notice,
        error=error,
        status=status,
    )


def _override_channels(host: Any, guild_id: int):
    data = host.governance.data(guild_id) or {}
    channels = (data.get("listen") or {}).get("channels") or {}
    return [cid for cid, values in channels.items() if isinstance(values, dict) and "mode" in values]


def _tools_section(host: Any, guild: Any, csrf: str, base: str) -> str:
    layers = host.settings.tool_switches(guild.id, None)
    rows = []
    for tool in sorted(host.tool_service.registry.all(), key=lambda t: t.name):
        on, _level = is_enabled(tool, layers)
        toggle = html.form(
            f"{base}/tool",
            csrf,
            f'<input type="hidden" name="tool" value="{html.esc(tool.name)}">'
            f'<input type="hidden" name="state" value="{"off" if on else "on"}">',
            _("Turn off") if on else _("Turn on"),
            css="inline",
        )
        rows.append(
            [(html.esc(tool.name), tool.name), (html.esc(_("on") if on else _("off")), int(on)), (toggle, "")]
        )
    return (
        f'<section id="tools"><h2>{html.esc(_("Tools in this server"))}</h2>'
        + html.table([_("Tool"), _("State"), ""], rows, table_id="tool-switches", empty=_("No tools."))
        + "</section>"
    )


# -- the forms' actions ----------------------------------------------------------------------------


async def _listen(host: Any, guild: Any, form: Dict[str, str]) -> str:
    mode = form.get("mode", "")
    if mode not in MODES:
        raise InvalidValue(_("The mode must be `off`, `mention`, `keyword` or `all`."))
    if form.get("scope") == "channel":
        channel = guild.get_channel(form_int(form.get("channel")))
        if channel is None:
            raise InvalidValue(_("That channel is not in this server."))
        await host.store_listen(guild.id, channel.id, "mode", mode)
        return _("Listening mode for {where} set to `{mode}`.").format(where=f"#{channel.name}", mode=mode)
    await host.store_listen(guild.id, None, "mode", mode)
    return _("Listening mode for {where} set to `{mode}`.").format(where=_("this server"), mode=mode)


async def _context(host: Any, guild: Any, form: Dict[str, str]) -> str:
    on = form.get("state") == "on"
    await host.store_listen(guild.id, None, "context", on)
    text = _("Context listening for {where} is on.") if on else _("Context listening for {where} is off.")
    return text.format(where=_("this server"))


async def _cooldowns(host: Any, guild: Any, form: Dict[str, str]) -> str:
    channel = parse_number(
        form.get("cooldown", ""), what=_("The cooldown in seconds"), minimum=0, maximum=MAX_COOLDOWN
    )
    member = parse_number(
        form.get("user_cooldown", ""), what=_("The cooldown in seconds"), minimum=0, maximum=MAX_COOLDOWN
    )
    await host.store_listen(guild.id, None, "cooldown", channel)
    await host.store_listen(guild.id, None, "user_cooldown", member)
    return (
        _("Channel cooldown for {where} set to {seconds} s.").format(
            where=_("this server"), seconds=f"{channel:g}"
        )
        + " "
        + _("Member cooldown set to {seconds} s.").format(seconds=f"{member:g}")
    )


async def _keywords(host: Any, guild: Any, form: Dict[str, str]) -> str:
    action = "remove" if form.get("action") == "remove" else "add"
    updated = await host.store_keywords(guild.id, action, form.get("words", ""))
    return _("Keywords: {keywords}").format(keywords=", ".join(f"`{k}`" for k in updated) or _("none"))


async def _tool(host: Any, guild: Any, form: Dict[str, str]) -> str:
    tool = host._tool_or_error(form.get("tool", ""))
    on = form.get("state") == "on"
    await host.settings.set_tool_switch(Scope(GUILD, guild.id), tool.name, on)
    done = _("`{tool}` is now on for {scope}.") if on else _("`{tool}` is now off for {scope}.")
    return done.format(tool=tool.name, scope=_("this server"))


async def _budget(host: Any, guild: Any, form: Dict[str, str]) -> str:
    who = "server" if form.get("who") == "server" else "user"
    unit = "usd" if form.get("unit") == "usd" else "tokens"
    amount = form.get("amount", "").strip() or "none"
    value, cleared = await host.store_budget(guild.id, who == "server", amount, unit)
    return budget_change_text(who == "server", value, unit, cleared)


async def _ratelimit(host: Any, guild: Any, form: Dict[str, str]) -> str:
    who = form.get("who")
    if who == "off":
        await host.governance.update(guild.id, lambda d: d.pop("ratelimit", None))
        return _("Rate limits removed.")
    who = "server" if who == "server" else "user"
    rate = await host.store_rate(guild.id, who, form.get("requests", ""), form.get("seconds", ""))
    text = (
        _("Rate limit of each member set to {rate}.")
        if who == "user"
        else _("Rate limit of the whole server set to {rate}.")
    )
    return text.format(rate=rate.describe())


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/g/{guild_id}/settings", settings)
    for name, action in (
        ("listen", _listen),
        ("context", _context),
        ("cooldowns", _cooldowns),
        ("keywords", _keywords),
        ("tool", _tool),
        ("budget", _budget),
        ("ratelimit", _ratelimit),
    ):
        router.add_post(f"/g/{{guild_id}}/settings/{name}", handler("settings", name, action, settings))
