"""The slash surface: which ``ai`` commands have a slash form, and under which slash command.

Discord allows at most 25 subcommands and groups under one slash command, and ``[p]ai`` has more
than that. Prefix commands keep one tree (``[p]ai model set``); their slash forms are arranged
once, when the cog is built:

* ``/ai …`` holds what members use every day (chat, memory, personas, research, their own data);
* ``/aiset …`` holds configuration for admins and the owner (``[p]ai model set`` is
  ``/aiset model set``); owners enable it like ``/ai``, with ``[p]slash enable aiset``;
* a few commands are prefix-only (:data:`PREFIX_ONLY` says why).

Every subcommand of ``ai`` must be named here: ``tests/cog/test_slash_map.py`` fails for one that
is not, for a slash group over 25, and for a members' command without a slash form.
"""

from __future__ import annotations

import re
from typing import Callable, Collection, Dict, List, Optional, Tuple

from discord import app_commands
from discord.ext.commands import hybrid
from redbot.core import commands

MEMBERS = "ai"
SETTINGS = "aiset"
SETTINGS_DESCRIPTION = "Configure the AI assistant (admins and the bot owner)."
DISCORD_MAX_CHILDREN = 25

# `ai` subcommand -> the slash command it lives under.
SLASH_HOME: Dict[str, str] = {
    # members' everyday commands
    "chat": MEMBERS,
    "forget": MEMBERS,
    "remember": MEMBERS,
    "memories": MEMBERS,
    "history": MEMBERS,
    "incognito": MEMBERS,
    "myprompt": MEMBERS,
    "variables": MEMBERS,
    "stats": MEMBERS,
    "persona": MEMBERS,
    "search": MEMBERS,
    "scrape": MEMBERS,
    "crawl": MEMBERS,
    "autosearch": MEMBERS,
    "draw": MEMBERS,  # its settings (model, limit, price, show) under /aiset draw: see SPLIT
    "consent": MEMBERS,
    "tldr": MEMBERS,  # the channel assistant (commands/channels/)
    # configuration
    "model": SETTINGS,
    "params": SETTINGS,
    "provider": SETTINGS,
    "listen": SETTINGS,
    "budget": SETTINGS,
    "ratelimit": SETTINGS,
    "policy": SETTINGS,
    "memory": SETTINGS,
    "docs": SETTINGS,
    "tools": SETTINGS,
    "diag": SETTINGS,
    "pricing": SETTINGS,
    "dm": SETTINGS,
    "timezone": SETTINGS,
    "answers": SETTINGS,  # the owner's caps on one answer (issue 22)
    "moderation": SETTINGS,
    "audit": SETTINGS,
    "mcp": SETTINGS,
    "voice": SETTINGS,  # media: transcription and spoken answers (`me` also under /ai: MEMBER_PARTS)
    "reply": SETTINGS,  # media: the reply style
    "schedule": SETTINGS,
    "threads": SETTINGS,
    "autoanswer": SETTINGS,
    "panel": SETTINGS,  # the web panel: owner's switches (`login` also under /ai: MEMBER_PARTS)
}
# Groups whose root command is a members' command (``[p]ai draw <prompt>``) and whose subcommands
# are settings (``[p]ai draw model``): Discord can't invoke a slash group itself, so the root is
# ``/ai draw`` and the subcommands are ``/aiset draw …``.
SPLIT: Dict[str, str] = {"draw": MEMBERS}
# Settings groups with a subcommand members use: those subcommands get a slash form under ``/ai``
# too (``/ai panel login``), the rest stay under ``/aiset`` (``/aiset panel enable``).
MEMBER_PARTS: Dict[str, Tuple[str, ...]] = {"panel": ("login",), "voice": ("me",)}
# `ai` subcommands without a slash form, and why.
PREFIX_ONLY: Dict[str, str] = {
    # media: `[p]ai draw <prompt>` is a group whose root draws; a slash group can't be invoked
    # itself, so its slash form needs a split (`/ai draw` + `/aiset draw …`): left to the slash map.
    "mykey": "a key is set in a DM to the bot, where the prefix form works; a slash form in a "
    "server would invite pasting keys there",
}


_HINT = re.compile(r"(?<![\w/])/ai ([a-z]+)(?: ([a-z]+))?")


def slash_hints(text: str, subcommands: Callable[[str], Collection[str]]) -> str:
    """``text`` with each ``/ai <command>`` hint pointing at that command's slash home.

    Hints are written for the prefix form (``[p]ai model set``); in a slash command's reply the
    prefix is ``/``, and ``/ai model set`` does not exist: it is ``/aiset model set``.
    ``subcommands(name)`` gives the subcommand names of the ``ai`` group ``name``.
    """

    def home(match: "re.Match[str]") -> str:
        name, part = match.group(1), match.group(2)
        where = SLASH_HOME.get(name, MEMBERS)
        if name in SPLIT:
            where = SETTINGS if part in subcommands(name) else SPLIT[name]
        elif name in MEMBER_PARTS:
            where = MEMBERS if part in MEMBER_PARTS[name] else SETTINGS
        return match.group(0) if where == MEMBERS else "/" + where + match.group(0)[len("/ai") :]

    return _HINT.sub(home, text)


def members_commands() -> List[str]:
    """The ``ai`` subcommands members use every day: each must have a slash form under ``/ai``."""
    return [name for name, home in SLASH_HOME.items() if home == MEMBERS]


def _slash_form_of(command: hybrid.HybridCommand, cog: commands.Cog) -> app_commands.Command:
    form = hybrid.HybridAppCommand(command)
    form.binding = cog  # the hybrid callback is a method of the cog
    command.app_command = form  # the hybrid command parses slash options through it
    return form


def _app_form(cog: commands.Cog, command: commands.Command) -> Optional[app_commands.AppCommand]:
    """A slash form for a prefix-only hybrid command (declared ``with_app_command=False``)."""
    if isinstance(command, hybrid.HybridGroup):
        group = app_commands.Group(name=command.name, description=command.short_doc or "…")
        for sub in command.commands:
            if isinstance(sub, hybrid.HybridGroup):
                continue  # Discord nests one level of groups under a slash command, no deeper
            if isinstance(sub, hybrid.HybridCommand):
                group.add_command(_slash_form_of(sub, cog))
        command.app_command = group
        return group
    if isinstance(command, hybrid.HybridCommand):
        return _slash_form_of(command, cog)
    return None


def _split_forms(cog: commands.Cog, group: hybrid.HybridGroup) -> Tuple[app_commands.Command, app_commands.Group]:
    """``/ai <group>`` runs the group's own callback; ``/aiset <group> …`` holds its subcommands."""
    root = hybrid.HybridAppCommand(group, name=group.name)
    root.binding = cog
    # discord.py parses a group's own slash options through its "fallback" command, looked up by
    # name in ``group.app_command``: a holder that is never registered, only looked in.
    holder = app_commands.Group(name=group.name, description=group.short_doc or "…")
    holder._children[group.name] = root  # not add_command: the root's parent is /ai, not this
    settings = _app_form(cog, group)
    group.app_command, group.fallback = holder, group.name
    return root, settings


def _divided(
    cog: commands.Cog, group: hybrid.HybridGroup, for_members: Tuple[str, ...]
) -> Tuple[app_commands.Group, app_commands.Group]:
    """The group's slash form in two: members' subcommands, then the settings ones."""
    parts = [app_commands.Group(name=group.name, description=group.short_doc or "…") for _ in range(2)]
    for sub in sorted(group.commands, key=lambda c: c.name):
        if isinstance(sub, hybrid.HybridCommand):
            form = getattr(sub, "app_command", None) or _slash_form_of(sub, cog)
            parts[0 if sub.name in for_members else 1].add_command(form)
    return parts[0], parts[1]


def arrange_slash(cog: commands.Cog, ai: hybrid.HybridGroup) -> app_commands.Group:
    """Move each ``ai`` subcommand's slash form to its home and return the ``/aiset`` group.

    ``ai`` is the cog's own copy of the group (discord.py copies commands per cog instance).
    The returned group must be added to the cog's app commands so Red registers it with the cog.
    """
    members = ai.app_command
    settings = app_commands.Group(name=SETTINGS, description=SETTINGS_DESCRIPTION)
    # Take every form out first: /ai may only hold 25 at any moment, also while moving them.
    forms = {}
    for command in list(ai.commands):
        forms[command.name] = members.get_command(command.name)
        if forms[command.name] is not None:
            members.remove_command(command.name)
    for command in list(ai.commands):
        current = forms[command.name]
        home = SLASH_HOME.get(command.name)
        if home is None:
            continue
        if command.name in SPLIT and isinstance(command, hybrid.HybridGroup):
            root, subcommands = _split_forms(cog, command)
            members.add_command(root)
            settings.add_command(subcommands)
            continue
        if command.name in MEMBER_PARTS and isinstance(command, hybrid.HybridGroup):
            for_members, for_settings = _divided(cog, command, MEMBER_PARTS[command.name])
            members.add_command(for_members)
            settings.add_command(for_settings)
            continue
        form = current or _app_form(cog, command)
        if form is not None:
            (members if home == MEMBERS else settings).add_command(form)
    return settings
