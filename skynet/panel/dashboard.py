"""Third-party pages for the Red-Web-Dashboard (AAA3A's ``dashboard`` cog), without depending on it.

The dashboard discovers methods carrying ``__dashboard_decorator_params__`` (what its own
``dashboard_page`` decorator sets) once the cog registers through ``on_dashboard_cog_add``; the
local :func:`dashboard_page` below records the same thing, so the cog loads whether or not the
dashboard is installed. Pages return ``{"status": 0, "web_content": {"source": html}}``; the
source is a Jinja template for the dashboard, so every brace from our data is escaped.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from ..i18n import _
from . import html
from .access import viewer_for
from .pages_usage import name_book, usage_body
from .usage_data import DEFAULT_PERIOD


def dashboard_page(*args: Any, **kwargs: Any) -> Callable:
    def decorator(func: Callable) -> Callable:
        func.__dashboard_decorator_params__ = (args, kwargs)
        return func

    return decorator


def _source(body: str) -> Dict[str, Any]:
    # Jinja would run "{{ ... }}" or "{% ... %}" found in a member's name or a memory.
    safe = body.replace("{", "&#123;").replace("}", "&#125;")
    return {"status": 0, "web_content": {"source": safe}}


def _refused() -> Dict[str, Any]:
    return {
        "status": 1,
        "error_title": _("Not allowed"),
        "error_message": _("Only this server's admins (or the bot owner) can see this page."),
    }


async def usage_page(host: Any, user_id: int, guild_id: int, usage_data: Any) -> Dict[str, Any]:
    viewer = await viewer_for(host.bot, user_id)
    if not viewer.may_admin(guild_id) or host.bot.get_guild(guild_id) is None:
        return _refused()
    report = await usage_data.guild(guild_id, DEFAULT_PERIOD)
    body = usage_body(name_book(host.bot, guild_id, report), guild_id, report, DEFAULT_PERIOD)
    body += (
        "<p>"
        + html.esc(_("Charts and CSV downloads are in the skynet panel (`[p]ai panel login`)."))
        + "</p>"
    )
    return _source(body)


async def settings_page(host: Any, user_id: int, guild_id: int) -> Dict[str, Any]:
    viewer = await viewer_for(host.bot, user_id)
    guild = host.bot.get_guild(guild_id)
    if not viewer.may_admin(guild_id) or guild is None:
        return _refused()
    rules = host.governance.rules(guild_id)
    listen, budgets, rates = rules.listen, rules.budgets, rules.rates
    facts = [
        (_("Listening mode"), listen.mode),
        (_("Context listening"), _("on") if listen.context else _("off")),
        (_("Keywords"), ", ".join(listen.keywords) or _("none")),
        (_("Channel cooldown"), f"{listen.cooldown:g} s"),
        (_("Member cooldown"), f"{listen.user_cooldown:g} s"),
        (
            _("Each member, per day"),
            "–" if budgets.member_amount is None else f"{budgets.member_amount:g} {budgets.unit}",
        ),
        (
            _("Whole server, per day"),
            "–" if budgets.server_amount is None else f"{budgets.server_amount:g} {budgets.server_unit}",
        ),
        (_("Rate limit per member"), rates.member.describe() if rates.member else "–"),
        (_("Rate limit of the server"), rates.server.describe() if rates.server else "–"),
    ]
    rows = [[(html.esc(k), k), (html.esc(v), v)] for k, v in facts]
    body = html.table([_("Setting"), _("Value")], rows)
    body += "<p>" + html.esc(_("Change these with the `ai` commands or in the skynet panel.")) + "</p>"
    return _source(body)
