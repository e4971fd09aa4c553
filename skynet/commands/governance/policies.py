"""``/ai policy``: which tools a member may use where (member ▸ role ▸ channel ▸ server), and why."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple

import discord
from discord import app_commands
from redbot.core import commands

from ...abc import MixinMeta
from ...engine.governance.policy import (
    CHANNEL,
    DEFAULT,
    MEMBER,
    ROLE,
    SERVER,
    check_tool_name,
    decide_tool,
    level_label,
    policy_change_text,
    with_rule,
)
from ...engine.governance.rules import GuildRules
from ...i18n import _
from ..common import on_off, reply, require_admin, settings_channel_id, source_label
from ..group import AIGroup
from ..targets import Target, find_channel, find_target
from .admission import describe_rate


class PoliciesMixin(MixinMeta):
    # -- tool policies

    @AIGroup.ai.group(name="policy")
    async def ai_policy(self, ctx: commands.Context) -> None:
        """Which tools may run for whom, and everything that applies to a member in a channel."""

    @ai_policy.command(name="tool")
    @app_commands.describe(
        action="allow, deny, or inherit (remove the rule)",
        tool="The tool's name",
        target="A #channel, @role or @member (default: the whole server)",
    )
    async def ai_policy_tool(
        self,
        ctx: commands.Context,
        action: Literal["allow", "deny", "inherit"],
        tool: str,
        target: Optional[str] = None,
    ) -> None:
        """Allow or deny a tool for the server, a channel, a role or a member.

        Member rules beat role rules, which beat channel rules, which beat server rules; at the same
        level deny beats allow. Example: `[p]ai policy tool deny web_search #general`.
        """
        guild = await require_admin(ctx)
        name, found = await self.store_tool_policy(guild, action, tool, target)
        label = _("the whole server") if found is None else found.mention
        await reply(ctx, policy_change_text(action, name, label))

    async def store_tool_policy(
        self, guild: discord.Guild, action: str, tool: str, target: Optional[str]
    ) -> Tuple[str, Optional[Target]]:
        """Store the rule ``action`` (allow, deny; inherit removes it) for ``tool`` on ``target``: a
        channel, role or member of ``guild`` (mention, id or name), or None for the whole server.

        Returns the tool's name and the target found (None: the server). Shared by the command and
        the web panel, so both accept and refuse the same values with the same words."""
        name = check_tool_name(tool, self.tool_service.registry.names())
        if target is None:
            level, target_id, found = SERVER, None, None
        else:
            found = find_target(guild, target)
            if isinstance(found, discord.Member):
                level, target_id = MEMBER, found.id
            elif isinstance(found, discord.Role):
                level, target_id = ROLE, found.id
            else:
                level, target_id = CHANNEL, settings_channel_id(found)

        def edit(data: Dict[str, Any]) -> None:
            data["tools"] = with_rule(data.get("tools"), level, target_id, name, action)

        await self.governance.update(guild.id, edit)
        return name, found

    @ai_policy.command(name="show")
    @app_commands.describe(member="Whose policy (default: yours)", channel="Where (default: here)")
    async def ai_policy_show(
        self, ctx: commands.Context, member: Optional[str] = None, channel: Optional[str] = None
    ) -> None:
        """Everything that applies to a member in a channel, and the level each decision comes from."""
        target = await self._member_or_self(ctx, member)
        where = find_channel(ctx.guild, channel) if channel else ctx.channel
        await reply(
            ctx,
            "\n".join(self.policy_lines(self.governance.rules(ctx.guild.id), target, where)).replace(
                "[p]", ctx.clean_prefix
            )[:2000],
            ephemeral=True,
        )

    def policy_lines(self, rules: GuildRules, member: discord.Member, channel: Any) -> List[str]:
        cid = settings_channel_id(channel)
        listen = rules.listen
        mode, mode_from = listen.mode_in(cid)
        context, context_from = listen.context_in(cid)
        cooldown, cooldown_from = listen.cooldown_in(cid)
        listed = listen.channel_listed(cid)
        listening = (
            _("Listening: `{mode}` ({mode_source}) · context listening {context} ({context_source})")
            if listed
            else _(
                "Listening: `{mode}` ({mode_source}) — but this channel is excluded by the server's "
                "channel list · context listening {context} ({context_source})"
            )
        )
        lines = [
            _("**Policy for {member} in {channel}**").format(
                member=member.display_name, channel=channel.mention
            ),
            listening.format(
                mode=mode,
                mode_source=source_label(mode_from),
                context=on_off(context),
                context_source=source_label(context_from),
            ),
            _("Cooldowns: channel {cooldown} s ({source}) · member {member} s (server)").format(
                cooldown=f"{cooldown:g}",
                source=source_label(cooldown_from),
                member=f"{listen.user_cooldown:g}",
            ),
            _("Rate limits: member {member} · server {server}").format(
                member=describe_rate(rules.rates.member), server=describe_rate(rules.rates.server)
            ),
            *self.budget_lines(member, member.guild),
            _("Tools:"),
        ]
        roles = tuple(r.id for r in member.roles)
        for tool in self.tool_service.registry.all():
            decision = decide_tool(rules.tools, tool.name, user_id=member.id, role_ids=roles, channel_id=cid)
            on, switch = self.switched_on(tool, member.guild.id, cid)
            mark = "✅" if decision.allowed and on else "⛔"
            # "no rule: allowed by default" already says where the answer comes from.
            source = "" if decision.level == DEFAULT else f" ({level_label(decision.level)})"
            line = f"{mark} `{tool.name}` — {decision.reason}{source}"
            if not on:  # a policy allows; the switch decides whether the tool runs at all
                line += " · " + _("switched off here ({scope}): `[p]ai tools enable {tool}`").format(
                    scope=switch, tool=tool.name
                )
            lines.append(line)
        return lines
