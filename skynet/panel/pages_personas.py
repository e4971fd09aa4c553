"""Personas of one server: list, create, edit, delete, and the persona in use for the server or a
channel.

Each form calls the functions the ``[p]ai persona create|edit|delete|use`` commands call
(``create_persona``, ``owned_persona`` + ``edit_persona``, ``personas.delete``,
``choose_persona``), so the panel accepts and refuses exactly what the commands do, with the same
words. The panel manages this server's own personas; global ones (the bot owner's) and built-in
ones are listed and can be used, not changed. Avatar images and character cards are uploaded with
the commands (an avatar *link* can be set here: ``avatar`` field).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from ..commands.personas.managing import chosen_text, created_text, deleted_text, edited_text
from ..engine.errors import InvalidValue
from ..engine.personas import Persona
from ..engine.personas.personas import EDITABLE_FIELDS, PersonaError, builtin_description
from ..i18n import _
from ..stores.settings import CHANNEL, GLOBAL, GUILD, Scope
from . import html
from .app import panel_of, render, session_of
from .forms import form_int, grouped_select, guild_of, handler, hidden, text_area, text_field
from .pages_usage import admin_nav

SERVER = "server"


def _where_label(where: str) -> str:
    return {"built-in": _("built-in"), GUILD: _("server"), GLOBAL: _("global")}.get(where, where)


async def personas(
    request: web.Request, *, notice: str = "", error: str = "", status: int = 200
) -> web.Response:
    guild = guild_of(request)
    host = panel_of(request).host
    csrf = session_of(request).csrf
    base = f"/g/{guild.id}/personas"
    available = host.personas.available(guild.id)
    body = admin_nav(guild.id)
    body += _in_use_section(host, guild, available, csrf, base)
    body += _list_section(available)
    body += _create_section(csrf, base, panel_of(request).say)
    for _key, (persona, where) in sorted(available.items()):
        if where == GUILD:
            body += _persona_section(persona, csrf, base)
    return render(
        request,
        _("Personas of {server}").format(server=guild.name),
        body,
        notice=notice or None,
        error=error or None,
        status=status,
    )


def _in_use_section(host: Any, guild: Any, available: Dict, csrf: str, base: str) -> str:
    def shown(name: Optional[str]) -> str:
        return f"<code>{html.esc(name)}</code>" if name else html.esc(_("none"))

    items = [
        f"<li>{html.esc(_('This server'))}: {shown(host.personas.choice(Scope(GUILD, guild.id)))}</li>",
    ]
    for channel in guild.text_channels:
        chosen = host.personas.choice(Scope(CHANNEL, channel.id))
        if chosen:
            items.append(f"<li>#{html.esc(channel.name)}: {shown(chosen)}</li>")
    global_choice = host.personas.choice(Scope(GLOBAL))
    items.append(
        f"<li>{html.esc(_('Everywhere (global default, the bot owner)'))}: {shown(global_choice)}</li>"
    )
    names = [(p.name, f"{p.name} ({_where_label(w)})") for _key, (p, w) in sorted(available.items())]
    form = html.form(
        f"{base}/use",
        csrf,
        grouped_select(
            "name", [("", [("none", _("none (remove the choice)"))]), (_("Personas"), names)], _("Persona")
        )
        + grouped_select(
            "where",
            [
                ("", [(SERVER, _("this server"))]),
                (_("Channels"), [(str(c.id), f"#{c.name}") for c in guild.text_channels]),
            ],
            _("For"),
        ),
        _("Use"),
        css="row",
    )
    return (
        f'<section id="persona-in-use"><h2>{html.esc(_("In use"))}</h2>'
        + '<p class="hint">'
        + html.esc(_("A channel's choice beats the server's, which beats the global default."))
        + f'</p><ul id="persona-choices">{"".join(items)}</ul>'
        + form
        + "</section>"
    )


def _list_section(available: Dict) -> str:
    rows: List = []
    for key, (persona, where) in sorted(available.items()):
        name = html.esc(persona.name)
        if where == GUILD:
            name = f'<a href="#persona-{html.esc(key)}">{name}</a>'
        rows.append(
            [
                (name, key),
                (html.esc(_where_label(where)), where),
                (html.esc(builtin_description(persona)[:200]), ""),
            ]
        )
    return (
        f'<section id="persona-list"><h2>{html.esc(_("Personas"))}</h2>'
        + html.table([_("Name"), _("Kind"), _("Description")], rows, table_id="personas-table")
        + "</section>"
    )


def _create_section(csrf: str, base: str, say: Callable[[str], str]) -> str:
    """``say`` puts the bot's prefix into the commands the hint names."""
    hint = _(
        "Prompts may use variables such as `{user_display}` or `{server}`: see `[p]ai variables`. "
        "Avatar images and character cards are added with `[p]ai persona avatar` and "
        "`[p]ai persona import` in Discord."
    )
    return (
        f'<section id="persona-create"><h2>{html.esc(_("New persona"))}</h2>'
        + html.form(
            f"{base}/create",
            csrf,
            text_field("name", "", _("Name (one word, up to 32 characters)"), 20, ident="f-create-name")
            + "<br>"
            + text_area("prompt", "", _("The instructions it follows"), 5, ident="f-create-prompt")
            + "<br>",
            _("Create"),
        )
        + f'<p class="hint">{html.esc(say(hint))}</p></section>'
    )


def _persona_section(persona: Persona, csrf: str, base: str) -> str:
    details = []
    if persona.description:
        details.append((_("Description"), persona.description))
    if persona.display_name:
        details.append((_("Display name"), persona.display_name))
    if persona.avatar_url:
        details.append((_("Avatar"), persona.avatar_url))
    if persona.greeting:
        details.append((_("Greeting"), persona.greeting))
    if persona.model:
        details.append((_("Model"), f"{persona.model['endpoint']}:{persona.model['name']}"))
    for name, value in persona.params.items():
        details.append((name, str(value)))
    key = html.esc(persona.key)
    listing = "".join(f"<dt>{html.esc(k)}</dt><dd>{html.esc(v)}</dd>" for k, v in details)
    return (
        f'<section id="persona-{key}"><h2>{html.esc(persona.name)}</h2>'
        + (f"<dl>{listing}</dl>" if listing else "")
        + f'<pre class="prompt">{html.esc(persona.system_prompt)}</pre>'
        + html.form(
            f"{base}/edit",
            csrf,
            hidden("name", persona.name)
            + html.select("field", [(f, f) for f in EDITABLE_FIELDS], "prompt", _("Field"))
            .replace('id="f-field"', f'id="f-field-{key}"')
            .replace('for="f-field"', f'for="f-field-{key}"')
            + text_area("value", "", _("New value (`none` clears it)"), 3, ident=f"f-value-{key}"),
            _("Change"),
            css="row",
        )
        + html.form(f"{base}/delete", csrf, hidden("name", persona.name), _("Delete"), css="danger")
        + "</section>"
    )


# -- the forms' actions -----------------------------------------------------------------------------


def _servers_own(host: Any, guild: Any, name: str) -> Persona:
    """This server's persona ``name``: built-in and unknown ones are refused with the command's
    words; global ones belong to the bot owner, who changes them with the command."""
    where, persona = host.owned_persona(guild.id, name)
    if where is None:
        raise PersonaError(
            _(
                "`{name}` is a global persona: only the bot owner changes it, with `[p]ai persona edit` in Discord."
            ).format(name=persona.name)
        )
    return persona


async def _create(host: Any, guild: Any, form: Dict[str, str]) -> str:
    persona = await host.create_persona(guild.id, form.get("name", ""), form.get("prompt", ""))
    return created_text(persona, True, "[p]")


async def _edit(host: Any, guild: Any, form: Dict[str, str]) -> str:
    persona = _servers_own(host, guild, form.get("name", ""))
    persona, field, clear = await host.edit_persona(
        guild.id, persona, form.get("field", ""), form.get("value", "")
    )
    return edited_text(persona, field, clear)


async def _delete(host: Any, guild: Any, form: Dict[str, str]) -> str:
    persona = _servers_own(host, guild, form.get("name", ""))
    await host.personas.delete(guild.id, persona.key)
    return deleted_text(persona, True)


async def _use(host: Any, guild: Any, form: Dict[str, str]) -> str:
    where = form.get("where", SERVER)
    if where == SERVER:
        scope, label = Scope(GUILD, guild.id), _("this server")
    else:
        channel = guild.get_channel(form_int(where))
        if channel is None:
            raise InvalidValue(_("That channel is not in this server."))
        scope, label = Scope(CHANNEL, channel.id), f"#{channel.name}"
    persona = await host.choose_persona(scope, guild.id, form.get("name", ""))
    return chosen_text(persona, label)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/g/{guild_id}/personas", personas)
    for name, action in (("create", _create), ("edit", _edit), ("delete", _delete), ("use", _use)):
        router.add_post(f"/g/{{guild_id}}/personas/{name}", handler("personas", name, action, personas))
