"""``/ai params show | set | reset``: generation parameters and the system prompt, per scope."""

from __future__ import annotations

from typing import List, Optional

import discord
from discord import app_commands
from redbot.core import commands
from redbot.core.utils.chat_formatting import box

from ...abc import MixinMeta
from ...engine.params import DEFAULT_SYSTEM_PROMPT, PARAMS, SYSTEM_PROMPT, spec_for
from ...i18n import _
from ..common import ScopeChoice, reply, resolve_here, scope_label, writable_scope
from ..group import AIGroup


def _shown(value: object, limit: int = 60) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ParamsMixin(MixinMeta):
    @AIGroup.ai.group(name="params")
    async def ai_params(self, ctx: commands.Context) -> None:
        """Tune how the model answers: temperature, top_p, max_tokens, penalties, system prompt."""

    @ai_params.command(name="show")
    async def ai_params_show(self, ctx: commands.Context) -> None:
        """Show the parameters in effect here and where each value comes from."""
        resolved = resolve_here(self.settings, ctx.channel)
        active = self.active_persona(ctx.author, ctx.channel)
        if active is not None:  # its preset and prompt apply here (a more specific setting still wins)
            resolved = self.with_preset(resolved, active.persona, active.scope)
        rows = []
        for name in PARAMS:
            if name == SYSTEM_PROMPT and active is not None:
                value = _shown(active.persona.system_prompt)
                source = _("persona {name}").format(name=active.persona.name)
            elif name in resolved.params:
                value, source = _shown(resolved.params[name]), scope_label(resolved.sources[name])
            elif name == SYSTEM_PROMPT:
                value, source = _shown(DEFAULT_SYSTEM_PROMPT), scope_label("default")
            else:
                value, source = _("provider default"), "-"
            rows.append(f"{name:<18} {value}  [{source}]")
        help_lines = "\n".join(f"- `{n}`: {s.allowed}. {s.help}" for n, s in PARAMS.items())
        await reply(ctx, box("\n".join(rows)) + "\n" + help_lines)

    @ai_params.command(name="set")
    @app_commands.describe(
        name="Parameter to set", value="New value", scope="Where to apply it (default: this server)"
    )
    async def ai_params_set(
        self, ctx: commands.Context, scope: Optional[ScopeChoice], name: str, *, value: str
    ) -> None:
        """Set a parameter for this server, this channel (`channel`) or everywhere (`global`, owner).

        Example: `[p]ai params set temperature 0.7` or `[p]ai params set channel system_prompt You are a pirate.`
        """
        spec = spec_for(name)
        parsed = spec.parse(value)
        target = await writable_scope(ctx, scope)
        await self.settings.set_param(target, spec.name, parsed)
        await reply(
            ctx,
            _("`{name}` for {scope} set to `{value}`.").format(
                name=spec.name, scope=scope_label(target.kind), value=_shown(parsed, 200)
            ),
        )

    @ai_params.command(name="reset")
    @app_commands.describe(
        name="Parameter to reset (default: all)", scope="Which scope (default: this server)"
    )
    async def ai_params_reset(
        self, ctx: commands.Context, scope: Optional[ScopeChoice], name: Optional[str] = None
    ) -> None:
        """Remove one parameter (or all of them) at a scope, falling back to the next scope."""
        spec = spec_for(name) if name else None
        target = await writable_scope(ctx, scope)
        removed = await self.settings.reset_params(target, spec.name if spec else None)
        where = scope_label(target.kind)
        if not removed:
            await reply(ctx, _("Nothing to reset for {scope}.").format(scope=where))
        else:
            names = ", ".join(f"`{n}`" for n in removed)
            await reply(ctx, _("Reset {names} for {scope}.").format(names=names, scope=where))

    @ai_params_set.autocomplete("name")
    @ai_params_reset.autocomplete("name")
    async def _param_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> List[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in PARAMS if current.lower() in n]
