"""Creating, editing, deleting and choosing personas: the logic of ``/ai persona create|edit|
delete|use``, shared with the web panel so both accept and refuse the same values with the same words.

The commands check who may write where (``writable_scope``) before calling these; the panel's
routes only let a server's admins in, and only for that server's own personas.
"""

from __future__ import annotations

from typing import Optional, Tuple

from ...abc import MixinMeta
from ...engine.params import PARAMS
from ...engine.personas import BUILTIN_PERSONAS, Persona
from ...engine.personas.avatars import check_avatar_link
from ...engine.personas.personas import (
    EDITABLE_FIELDS,
    MAX_DESCRIPTION_CHARS,
    MAX_DISPLAY_NAME_CHARS,
    MAX_GREETING_CHARS,
    PersonaError,
    check_name,
    check_prompt,
    check_text,
    check_webhook_name,
)
from ...engine.settings import parse_model_ref
from ...i18n import _
from ...stores.personas import PersonaStore
from ...stores.settings import GLOBAL, Scope


def no_such_persona(name: str) -> PersonaError:
    return PersonaError(
        _("There is no persona `{name}` here. See `[p]ai persona list`.").format(name=name[:40])
    )


def created_text(persona: Persona, server: bool, prefix: str) -> str:
    created = (
        _("Created persona `{name}` for this server. Use it with `{prefix}ai persona use {name}`.")
        if server
        else _("Created persona `{name}` for global. Use it with `{prefix}ai persona use {name}`.")
    )
    return created.format(name=persona.name, prefix=prefix)


def edited_text(persona: Persona, field: str, clear: bool) -> str:
    done = _("Persona `{name}`: `{field}` cleared.") if clear else _("Persona `{name}`: `{field}` updated.")
    return done.format(name=persona.name, field=field)


def deleted_text(persona: Persona, server: bool) -> str:
    deleted = (
        _("Deleted persona `{name}` from this server.")
        if server
        else _("Deleted persona `{name}` from global.")
    )
    return deleted.format(name=persona.name)


def chosen_text(persona: Optional[Persona], where: str) -> str:
    """What an admin is told after choosing a persona (None: removing the choice) for ``where``."""
    if persona is None:
        return _("No persona chosen for {where} any more.").format(where=where)
    text = _("Persona `{name}` is now active for {where}.").format(name=persona.name, where=where)
    if persona.greeting:
        text += f"\n\n{persona.display_name or persona.name}: {persona.greeting}"
    return text


class PersonaManagingMixin(MixinMeta):
    personas: PersonaStore

    def owned_persona(self, guild_id: Optional[int], name: str) -> Tuple[Optional[int], Persona]:
        """The stored persona ``name`` (this server's own first, else a global one) and where it
        lives (None: global). Built-in and unknown names are refused."""
        key = name.strip().lower()
        if key in BUILTIN_PERSONAS:
            raise PersonaError(
                _(
                    "`{name}` is built in and can't be changed. Create your own with "
                    "`[p]ai persona create <name> <prompt>`."
                ).format(name=key)
            )
        if guild_id is not None and key in self.personas.stored(guild_id):
            return guild_id, self.personas.stored(guild_id)[key]
        if key in self.personas.stored(None):
            return None, self.personas.stored(None)[key]
        raise no_such_persona(name)

    def visible_persona(self, guild_id: Optional[int], name: str) -> Persona:
        """The persona ``name`` usable here (the server's own, a global or a built-in one)."""
        persona = self.personas.find(guild_id, name)
        if persona is None:
            raise no_such_persona(name)
        return persona

    async def create_persona(self, guild_id: Optional[int], name: str, prompt: str) -> Persona:
        """Store a new persona at a server (``guild_id``) or globally (None)."""
        persona = Persona(name=check_webhook_name(check_name(name)), system_prompt=check_prompt(prompt))
        await self.personas.save(guild_id, persona, new=True)
        return persona

    async def edit_persona(
        self, guild_id: Optional[int], persona: Persona, field: str, value: str
    ) -> Tuple[Persona, str, bool]:
        """Change one field of a stored persona (`none` clears it); returns the persona, the field's
        name and whether it was cleared."""
        field = field.strip().lower()
        if field not in EDITABLE_FIELDS:
            raise PersonaError(
                _("`{field}` can't be edited. Choose one of: {fields}.").format(
                    field=field[:30], fields=", ".join(EDITABLE_FIELDS)
                )
            )
        clear = value.strip().lower() == "none"
        if field == "prompt":
            persona = persona.with_field("system_prompt", check_prompt(value))
        elif field == "description":
            persona = persona.with_field(
                "description", "" if clear else check_text("description", value, MAX_DESCRIPTION_CHARS) or ""
            )
        elif field == "display_name":
            persona = persona.with_field(
                "display_name",
                None
                if clear
                else check_webhook_name(check_text("display name", value, MAX_DISPLAY_NAME_CHARS)),
            )
        elif field == "greeting":
            persona = persona.with_field(
                "greeting", None if clear else check_text("greeting", value, MAX_GREETING_CHARS)
            )
        elif field == "avatar":
            # The link is fetched through the URL guard: it must be an image of at most 8 MB.
            persona = persona.with_field(
                "avatar_url", None if clear else await check_avatar_link(self.tool_service.guard, value)
            )
        elif field == "model":
            if clear:
                persona = persona.with_field("model", None)
            else:
                here = self.settings.resolve(guild_id, None).model
                ref = parse_model_ref(value, list(self.providers.endpoints), here.endpoint)
                persona = persona.with_field("model", ref.to_json())
        else:
            params = dict(persona.params)
            if clear:
                params.pop(field, None)
            else:
                params[field] = PARAMS[field].parse(value)
            persona = persona.with_field("params", params)
        await self.personas.save(guild_id, persona, new=False)
        return persona, field, clear

    async def choose_persona(self, target: Scope, guild_id: Optional[int], name: str) -> Optional[Persona]:
        """Make ``name`` the persona of ``target`` (`none`: remove the choice there); returns it."""
        if name.strip().lower() == "none":
            await self.personas.choose(target, None)
            return None
        persona = self.visible_persona(guild_id, name)
        if target.kind == GLOBAL and self.personas.find(None, persona.key) is None:
            raise PersonaError(
                _(
                    "`{name}` is a server persona; only built-in and global personas can be the global default."
                ).format(name=persona.name)
            )
        await self.personas.choose(target, persona.key)
        return persona
