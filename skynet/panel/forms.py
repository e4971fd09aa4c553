"""What every settings form of the panel shares: the server of the request, the POST handler that
records a change like a command's, and a few form fields the html module does not have.

A handler runs the form's action (which calls the same function as the command), inside the
audit log's actor marker (``begin_command``), and shows its page again with the confirmation, or
with the command's own refusal and status 400, having changed nothing.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Iterable, Optional, Sequence, Tuple

from aiohttp import web

from ..engine.errors import SkynetError
from ..stores.audited import begin_command, end_command
from . import html
from .app import guild_id_of, panel_of, viewer_of

Action = Callable[[Any, Any, Dict[str, str]], Awaitable[str]]
Page = Callable[..., Awaitable[web.Response]]


def guild_of(request: web.Request) -> Any:
    """The server in the path, once the viewer's right to administer it is checked (else 404)."""
    guild = panel_of(request).bot.get_guild(guild_id_of(request))
    if guild is None:
        raise web.HTTPNotFound()
    return guild


def form_int(value: Any) -> int:
    """A form field as an id; 0 (matches nothing) when it isn't a number."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def form_values(request: web.Request) -> Dict[str, str]:
    return {k: str(v) for k, v in request["form"].items() if isinstance(v, str)}


def handler(area: str, name: str, action: Action, page: Page):
    """The POST route of one form: ``action(host, guild, form)`` returns the confirmation."""

    async def handle(request: web.Request) -> web.Response:
        guild = guild_of(request)
        panel = panel_of(request)
        # Recorded in the audit log like a command change: the same actor marker the commands set.
        begin_command(viewer_of(request).user_id, guild.id, f"panel {area} {name}")
        try:
            done = await action(panel.host, guild, form_values(request))
        except SkynetError as exc:
            return await page(request, error=panel.say(exc.message), status=400)
        finally:
            end_command()
        panel.changed(viewer_of(request), guild.id, f"{name}: {done}")
        return await page(request, notice=panel.say(done))

    return handle


def grouped_select(
    name: str,
    groups: Iterable[Tuple[str, Sequence[Tuple[str, str]]]],
    label: str = "",
    chosen: Optional[str] = None,
    ident: str = "",
) -> str:
    """A select whose options come in labelled groups (``(group label, [(value, text)])``);
    a group labelled "" has its options at the top level."""
    parts = []
    for group, options in groups:
        opts = "".join(
            f'<option value="{html.esc(v)}"{" selected" if v == chosen else ""}>{html.esc(t)}</option>'
            for v, t in options
        )
        if not options:
            continue
        parts.append(f'<optgroup label="{html.esc(group)}">{opts}</optgroup>' if group else opts)
    ident = html.esc(ident or f"f-{name}")
    field = f'<select name="{html.esc(name)}" id="{ident}">{"".join(parts)}</select>'
    return f'<label for="{ident}">{html.esc(label)}</label>{field}' if label else field


def text_area(name: str, value: str = "", label: str = "", rows: int = 4, ident: str = "") -> str:
    ident = html.esc(ident or f"f-{name}")
    return (
        f'<label for="{ident}">{html.esc(label)}</label>'
        f'<textarea name="{html.esc(name)}" id="{ident}" rows="{rows}" cols="60">'
        f"{html.esc(value)}</textarea>"
    )


def text_field(
    name: str, value: Any = "", label: str = "", size: int = 12, ident: str = "", extra: str = ""
) -> str:
    """A text input whose id may differ from its name (several forms on a page share names)."""
    ident = html.esc(ident or f"f-{name}")
    return (
        f'<label for="{ident}">{html.esc(label)}</label>'
        f'<input type="text" name="{html.esc(name)}" id="{ident}" value="{html.esc(value)}" size="{size}"{extra}>'
    )


def hidden(name: str, value: Any) -> str:
    return f'<input type="hidden" name="{html.esc(name)}" value="{html.esc(value)}">'


def role_name(guild: Any, role_id: int) -> str:
    role = guild.get_role(role_id)
    return f"@{role.name}" if role is not None else f"@{role_id}"


def member_name(guild: Any, user_id: int) -> str:
    member = guild.get_member(user_id)
    return member.display_name if member is not None else str(user_id)


def channel_name(guild: Any, channel_id: int) -> str:
    channel = guild.get_channel_or_thread(channel_id)
    return f"#{channel.name}" if channel is not None else f"#{channel_id}"


def role_options(guild: Any) -> list:
    """This server's roles, highest first, without @everyone."""
    roles = sorted((r for r in guild.roles if not r.is_default()), key=lambda r: -r.position)
    return [(str(r.id), f"@{r.name}") for r in roles]
