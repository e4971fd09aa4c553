"""``/ai persona`` (list, show, create, edit, delete, use, avatar, import, export).

The chat path's persona plumbing (``apply_persona``) and ``/ai variables|myprompt|timezone|dm`` live
in ``prompting``.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass
from typing import Dict, Literal, Optional, Tuple

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import pagify

from ...engine.personas import Persona
from ...engine.personas.avatars import MAX_AVATAR_BYTES, check_avatar_bytes, check_avatar_link
from ...engine.personas.cards import MAX_CARD_BYTES, card_to_persona, load_card, persona_to_card
from ...engine.personas.personas import (
    PersonaError,
    builtin_description,
    check_name,
)
from ...i18n import _
from ...stores.personas import USER, PersonaStore
from ...stores.settings import CHANNEL, GLOBAL, GUILD, Scope
from ..common import ScopeChoice, reply, writable_scope
from ..group import AIGroup
from .managing import (
    PersonaManagingMixin,
    chosen_text,
    created_text,
    deleted_text,
    edited_text,
)

StoreChoice = Literal["server", "global"]
IMPORT_TTL = 300.0


@dataclass
class PendingImport:
    persona: Persona
    guild_id: Optional[int]
    at: float


def _store_label(where: str) -> str:
    """Where a persona lives, as shown in lists: built-in, server or global."""
    return {"built-in": _("built-in"), GUILD: _("server"), GLOBAL: _("global")}.get(where, where)


class PersonasMixin(PersonaManagingMixin):
    personas: PersonaStore
    _pending_imports: Dict[Tuple[int, int], PendingImport]

    # -- helpers ------------------------------------------------------------------------------

    async def _store_for(self, ctx: commands.Context, choice: Optional[str]) -> Optional[int]:
        """The guild id whose personas a command writes (None = global), after a permission check."""
        choice = choice or ("server" if ctx.guild else "global")
        if choice == "channel":
            raise PersonaError(_("Personas are stored per server or globally; use `server` or `global`."))
        scope = await writable_scope(ctx, choice)
        return scope.id if scope.kind == GUILD else None

    async def _owned(self, ctx: commands.Context, name: str) -> Tuple[Optional[int], Persona]:
        """The stored persona ``name`` the caller may change, and where it lives."""
        guild_id, persona = self.owned_persona(ctx.guild.id if ctx.guild else None, name)
        await writable_scope(ctx, "server" if guild_id is not None else "global")
        return guild_id, persona

    def _visible(self, ctx: commands.Context, name: str) -> Persona:
        return self.visible_persona(ctx.guild.id if ctx.guild else None, name)

    def _describe(self, persona: Persona, where: str) -> str:
        lines = [f"**{persona.name}** ({where})"]
        description = builtin_description(persona)
        if description:
            lines.append(description)
        if persona.display_name:
            lines.append(_("Display name: {name}").format(name=persona.display_name))
        if persona.avatar_url:
            lines.append(_("Avatar: <{url}>").format(url=persona.avatar_url))
        if persona.model:
            model = f"{persona.model['endpoint']}:{persona.model['name']}"
            lines.append(_("Model: `{model}`").format(model=model))
        if persona.params:
            params = ", ".join(f"`{k}={v}`" for k, v in persona.params.items())
            lines.append(_("Parameters: {params}").format(params=params))
        if persona.greeting:
            lines.append(_("Greeting: {greeting}").format(greeting=persona.greeting[:300]))
        prompt = persona.system_prompt
        shown = prompt if len(prompt) <= 1200 else prompt[:1199] + "…"
        lines.append(_("Prompt:\n>>> {prompt}").format(prompt=shown))
        return "\n".join(lines)

    # -- /ai persona --------------------------------------------------------------------------

    @AIGroup.ai.group(name="persona")
    async def ai_persona(self, ctx: commands.Context) -> None:
        """Give the assistant a character: its instructions, name and avatar."""

    @ai_persona.command(name="list")
    async def ai_persona_list(self, ctx: commands.Context) -> None:
        """List the personas you can use here and which one is active."""
        guild_id = ctx.guild.id if ctx.guild else None
        active = self.active_persona(ctx.author, ctx.channel)
        rows = []
        for key, (persona, where) in sorted(self.personas.available(guild_id).items()):
            marker = " " + _("← active") if active and active.persona.key == key else ""
            label = _store_label(where)
            rows.append(f"- `{persona.name}` [{label}] {builtin_description(persona)[:100]}{marker}")
        head = (
            _("Personas here:")
            if active
            else _("Personas here (none active: the configured system prompt is used):")
        )
        text = f"{head}\n" + "\n".join(rows) + "\n" + _("Use one with `[p]ai persona use <name>`.")
        for page in pagify(text.replace("[p]", ctx.clean_prefix), page_length=1900):
            await reply(ctx, page)

    @ai_persona.command(name="show")
    @app_commands.describe(name="The persona to show")
    async def ai_persona_show(self, ctx: commands.Context, name: str) -> None:
        """Show a persona's description, preset and full prompt."""
        persona = self._visible(ctx, name)
        where = self.personas.available(ctx.guild.id if ctx.guild else None)[persona.key][1]
        for page in pagify(self._describe(persona, _store_label(where)), page_length=1900):
            await reply(ctx, page)

    @ai_persona.command(name="create")
    @app_commands.describe(
        name="One word, up to 32 characters", prompt="The instructions it follows", scope="server or global"
    )
    async def ai_persona_create(
        self, ctx: commands.Context, scope: Optional[StoreChoice], name: str, *, prompt: str
    ) -> None:
        """Create a persona for this server (admins) or everywhere (`global`, owner).

        Example: `[p]ai persona create pirate You are a cheerful pirate. Answer {user_display} in pirate speak.`
        Prompts may use variables such as `{user_display}` or `{server}`: see `[p]ai variables`.
        """
        guild_id = await self._store_for(ctx, scope)
        persona = await self.create_persona(guild_id, name, prompt)
        await reply(ctx, created_text(persona, bool(guild_id), ctx.clean_prefix))

    @ai_persona.command(name="edit")
    @app_commands.describe(
        name="The persona", field="What to change", value="The new value (`none` clears it)"
    )
    async def ai_persona_edit(self, ctx: commands.Context, name: str, field: str, *, value: str) -> None:
        """Change one field of a persona: description, prompt, display_name, avatar, greeting, model,
        or a preset parameter (temperature, top_p, max_tokens...). `none` clears a field."""
        guild_id, persona = await self._owned(ctx, name)
        if field.strip().lower() == "avatar" and value.strip().lower() != "none" and ctx.interaction:
            await ctx.defer()  # the download may take longer than an interaction's 3 seconds
        persona, field, clear = await self.edit_persona(guild_id, persona, field, value)
        await reply(ctx, edited_text(persona, field, clear))

    @ai_persona.command(name="delete")
    @app_commands.describe(name="The persona to delete")
    async def ai_persona_delete(self, ctx: commands.Context, name: str) -> None:
        """Delete a persona of this server (admins) or a global one (owner)."""
        guild_id, persona = await self._owned(ctx, name)
        await self.personas.delete(guild_id, persona.key)
        await reply(ctx, deleted_text(persona, bool(guild_id)))

    @ai_persona.command(name="use")
    @app_commands.describe(
        name="A persona name, or `none` to stop choosing one here", scope="Where to use it"
    )
    async def ai_persona_use(self, ctx: commands.Context, scope: Optional[ScopeChoice], name: str) -> None:
        """Make a persona active in this server, this channel (`channel`) or everywhere (`global`, owner).

        `none` removes the choice at that scope (the next scope's persona applies: channel ▸ server ▸
        global). In DMs, anyone can pick the persona for their own DMs.
        """
        if ctx.guild is None and scope is None:
            target = Scope(USER, ctx.author.id)
        else:
            target = await writable_scope(ctx, scope)
        persona = await self.choose_persona(target, ctx.guild.id if ctx.guild else None, name)
        await reply(ctx, chosen_text(persona, self._scope_text(target))[:2000])

    @staticmethod
    def _scope_text(scope: Scope) -> str:
        return {
            USER: _("your DMs"),
            CHANNEL: _("this channel"),
            GUILD: _("this server"),
            GLOBAL: _("everywhere (global default)"),
        }[scope.kind]

    @ai_persona.command(name="avatar")
    @app_commands.describe(name="The persona", url="An https:// image link (or attach an image)")
    async def ai_persona_avatar(
        self,
        ctx: commands.Context,
        name: str,
        url: Optional[str] = None,
        image: Optional[discord.Attachment] = None,
    ) -> None:
        """Set a persona's avatar from an image link or an attached image (PNG, JPEG, GIF, WebP, up to 8 MB)."""
        guild_id, persona = await self._owned(ctx, name)
        image = image or (ctx.message.attachments[0] if ctx.message and ctx.message.attachments else None)
        if image is not None:
            kind = (image.content_type or "").split(";")[0]
            if not kind.startswith("image/") and not image.filename.lower().endswith(
                (".png", ".jpg", ".jpeg", ".gif", ".webp")
            ):
                raise PersonaError(_("An avatar must be an image (PNG, JPEG, GIF or WebP)."))
            if image.size > MAX_AVATAR_BYTES:
                raise PersonaError(_("That image is over 8 MB; choose a smaller one."))
            await check_avatar_bytes(await image.read())  # a renamed or damaged file is refused
            url = image.url
        elif url:
            url = await self._checked_avatar_link(ctx, url)
        else:
            raise PersonaError(_("Give an `https://` image link or attach an image."))
        persona = persona.with_field("avatar_url", url)
        await self.personas.save(guild_id, persona, new=False)
        await reply(ctx, _("Persona `{name}` has a new avatar.").format(name=persona.name))

    async def _checked_avatar_link(self, ctx: commands.Context, url: str) -> str:
        """``url`` once the URL guard fetched it and it is an image of at most 8 MB."""
        if ctx.interaction is not None:
            await ctx.defer()  # the download may take longer than an interaction's 3 seconds
        return await check_avatar_link(self.tool_service.guard, url)

    @ai_persona.command(name="import")
    @app_commands.describe(
        card="A V2 character card (.json or .png)",
        action="`confirm` saves the previewed card",
        scope="server or global",
    )
    async def ai_persona_import(
        self,
        ctx: commands.Context,
        action: Optional[Literal["confirm", "cancel"]] = None,
        scope: Optional[StoreChoice] = None,
        card: Optional[discord.Attachment] = None,
    ) -> None:
        """Import a character card (V2 JSON or PNG, up to 1 MB) as a persona: attach it to see a
        preview, then `[p]ai persona import confirm` to save it."""
        key = (ctx.author.id, ctx.channel.id)
        if action is not None:
            pending = self._pending_imports.pop(key, None)
            if pending is None or time.monotonic() - pending.at > IMPORT_TTL:
                raise PersonaError(
                    _("There is no card waiting to be saved. Attach one to `[p]ai persona import`.")
                )
            if action == "cancel":
                await reply(ctx, _("Import cancelled."))
                return
            await self._store_for(ctx, "server" if pending.guild_id else "global")
            await self.personas.save(pending.guild_id, pending.persona, new=True)
            imported = (
                _("Imported persona `{name}` for this server.")
                if pending.guild_id
                else _("Imported persona `{name}` for global.")
            )
            await reply(ctx, imported.format(name=pending.persona.name))
            return
        guild_id = await self._store_for(ctx, scope)
        card = card or (ctx.message.attachments[0] if ctx.message and ctx.message.attachments else None)
        if card is None:
            raise PersonaError(_("Attach a character card (.json or .png) to `[p]ai persona import`."))
        if card.size > MAX_CARD_BYTES:
            raise PersonaError(
                _("That file is {size} kB; character cards are limited to 1 MB.").format(
                    size=card.size // 1024
                )
            )
        raw = await card.read()
        persona = card_to_persona(await asyncio.to_thread(load_card, raw, card.filename))  # a PNG decodes
        check_name(persona.name, taken=self.personas.stored(guild_id))
        self._pending_imports[key] = PendingImport(persona, guild_id, time.monotonic())
        preview = self._describe(
            persona, _("preview, for this server") if guild_id else _("preview, for global")
        )
        tail = "\n\n" + _(
            "Save it with `{prefix}ai persona import confirm` (or `cancel`) within 5 minutes."
        ).format(prefix=ctx.clean_prefix)
        await reply(ctx, (preview[: 2000 - len(tail)]) + tail)

    @ai_persona.command(name="export")
    @app_commands.describe(name="The persona to export")
    async def ai_persona_export(self, ctx: commands.Context, name: str) -> None:
        """Export a persona as a V2 character card (JSON file)."""
        persona = self._visible(ctx, name)
        data = json.dumps(persona_to_card(persona), indent=2).encode("utf-8")
        await reply(
            ctx,
            _("Persona `{name}` as a V2 character card:").format(name=persona.name),
            file=discord.File(io.BytesIO(data), filename=f"{persona.name}.json"),
        )
