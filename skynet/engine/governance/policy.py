"""Tool policies: may this tool run for this member in this channel, and why.

Rules say ``allow`` or ``deny`` for one tool at one level. The most specific level with a rule
decides: member beats role beats channel beats server; at one level (a member with several
roles) deny beats allow. Without any rule a tool is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

from ..errors import InvalidValue
from ..i18n import _

ALLOW, DENY, INHERIT = "allow", "deny", "inherit"
MEMBER, ROLE, CHANNEL, SERVER, DEFAULT = "member", "role", "channel", "server", "default"


def level_label(level: str) -> str:
    """Where a decision comes from, as shown in ``policy show``."""
    labels = {
        MEMBER: _("member rule"),
        ROLE: _("role rule"),
        CHANNEL: _("channel rule"),
        SERVER: _("server rule"),
        DEFAULT: _("default"),
    }
    return labels.get(level, level)


Rules = Mapping[str, str]  # tool -> allow | deny


@dataclass(frozen=True)
class ToolDecision:
    allowed: bool
    level: str  # member | role | channel | server | default
    reason: str


@dataclass(frozen=True)
class ToolPolicies:
    """One server's rules, by level; ids are ints."""

    server: Rules = field(default_factory=dict)
    channels: Mapping[int, Rules] = field(default_factory=dict)
    roles: Mapping[int, Rules] = field(default_factory=dict)
    members: Mapping[int, Rules] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> "ToolPolicies":
        data = data or {}

        def by_id(key: str) -> Dict[int, Dict[str, str]]:
            return {int(i): dict(r) for i, r in (data.get(key) or {}).items() if r}

        return cls(dict(data.get("server") or {}), by_id("channels"), by_id("roles"), by_id("members"))


def decide_tool(
    policies: ToolPolicies,
    tool: str,
    *,
    user_id: int,
    role_ids: Iterable[int] = (),
    channel_id: Optional[int] = None,
) -> ToolDecision:
    """The decision for ``tool``, with the level it comes from and a sentence saying why."""
    rule = policies.members.get(user_id, {}).get(tool)
    if rule:
        text = (
            _("`{tool}` is allowed for this member")
            if rule == ALLOW
            else _("`{tool}` is denied for this member")
        )
        return ToolDecision(rule == ALLOW, MEMBER, text.format(tool=tool))
    role_rules = [(r, policies.roles[r][tool]) for r in role_ids if tool in policies.roles.get(r, {})]
    if role_rules:
        denying = [r for r, action in role_rules if action == DENY]
        if denying:
            return ToolDecision(
                False,
                ROLE,
                _("`{tool}` is denied for role {role}").format(tool=tool, role=f"<@&{denying[0]}>"),
            )
        return ToolDecision(
            True,
            ROLE,
            _("`{tool}` is allowed for role {role}").format(tool=tool, role=f"<@&{role_rules[0][0]}>"),
        )
    if channel_id is not None:
        rule = policies.channels.get(channel_id, {}).get(tool)
        if rule:
            text = (
                _("`{tool}` is allowed in {channel}")
                if rule == ALLOW
                else _("`{tool}` is denied in {channel}")
            )
            return ToolDecision(rule == ALLOW, CHANNEL, text.format(tool=tool, channel=f"<#{channel_id}>"))
    rule = policies.server.get(tool)
    if rule:
        text = (
            _("`{tool}` is allowed for the whole server")
            if rule == ALLOW
            else _("`{tool}` is denied for the whole server")
        )
        return ToolDecision(rule == ALLOW, SERVER, text.format(tool=tool))
    return ToolDecision(True, DEFAULT, _("no rule for `{tool}`: allowed by default").format(tool=tool))


def policy_change_text(action: str, tool: str, target: str) -> str:
    """What an admin is told after setting a tool rule (by command or in the web panel)."""
    if action == INHERIT:
        text = _("Removed the rule for `{tool}` on {target}; the next level decides.")
    elif action == ALLOW:
        text = _("`{tool}` is now allowed for {target}.")
    else:
        text = _("`{tool}` is now denied for {target}.")
    return text.format(tool=tool, target=target)


def check_tool_name(name: str, known: Sequence[str]) -> str:
    """The tool's canonical name, or a refusal that lists the tools that exist."""
    cleaned = str(name).strip().lower()
    if cleaned not in known:
        raise InvalidValue(
            _("There is no tool called `{name}`. Known tools: {tools}.").format(
                name=str(name)[:40], tools=", ".join(f"`{t}`" for t in known)
            )
        )
    return cleaned


def with_rule(
    data: Optional[Mapping[str, Any]], level: str, target_id: Optional[int], tool: str, action: str
) -> Dict[str, Any]:
    """A copy of the stored policies (JSON shape) with one rule set (``inherit`` removes it)."""
    if action not in (ALLOW, DENY, INHERIT):
        raise InvalidValue(_("The action must be `allow`, `deny` or `inherit`."))
    data = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in (data or {}).items()}
    if level == SERVER:
        rules = dict(data.get("server") or {})
        holder, key = data, "server"
    else:
        key = {MEMBER: "members", ROLE: "roles", CHANNEL: "channels"}[level]
        holder = data.setdefault(key, {})
        rules = dict(holder.get(str(target_id)) or {})
        key = str(target_id)
    if action == INHERIT:
        rules.pop(tool, None)
    else:
        rules[tool] = action
    if rules or level == SERVER:
        holder[key] = rules
    else:
        holder.pop(key, None)
    return data
