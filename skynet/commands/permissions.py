"""Who may use a command, said plainly when someone else tries it.

Red's checks raise ``NotOwner`` / ``CheckFailure`` and Red's own handler answers nothing; these
turn them into a message naming the command and who can use it.
"""

from __future__ import annotations

from typing import Optional

from redbot.core import commands

from ..i18n import _

ADMIN_PREDICATES = ("admin_or_permissions", "admin", "guildowner_or_permissions", "mod_or_permissions")


def _needs(command: commands.Command) -> str:
    """ "owner", "admin" or "" from the checks on the command and its parent groups."""
    node: Optional[commands.Command] = command
    needs = ""
    while node is not None:
        for check in getattr(node, "checks", []):
            qualname = getattr(check, "__qualname__", "")
            if "is_owner" in qualname:
                return "owner"
            if any(name in qualname for name in ADMIN_PREDICATES):
                needs = needs or "admin"
        if getattr(node, "requires", None) is not None:
            level = getattr(node.requires.privilege_level, "name", "")
            if level == "BOT_OWNER":
                return "owner"
            if level in ("ADMIN", "GUILD_OWNER", "MOD"):
                needs = needs or "admin"
        node = node.parent  # type: ignore[assignment]
    return needs


def invoked_command(ctx: commands.Context) -> Optional[commands.Command]:
    """The command the user typed. A group's check fails before its subcommand is resolved,
    so ``ctx.command`` may be the group: find the deepest command named in the message."""
    command = ctx.command
    if ctx.interaction is not None or not ctx.prefix or not ctx.message.content.startswith(ctx.prefix):
        return command
    words = ctx.message.content[len(ctx.prefix) :].split()
    for length in range(1, min(len(words), 4) + 1):
        found = ctx.bot.get_command(" ".join(words[:length]))
        if found is None:
            break
        command = found
    return command


def refusal(ctx: commands.Context, error: Exception) -> Optional[str]:
    """The message for a failed permission check, or None if ``error`` is not one."""
    command = invoked_command(ctx)
    if command is None:
        return None
    name = f"`{command.qualified_name}`"
    if isinstance(error, commands.NotOwner):
        return _("Only the bot owner can use {command}.").format(command=name)
    if isinstance(error, commands.MissingPermissions):
        missing = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return _("You need the {permissions} permission to use {command}.").format(
            permissions=missing, command=name
        )
    if isinstance(error, commands.NoPrivateMessage):
        return _("{command} only works inside a server.").format(command=name)
    if isinstance(error, commands.CheckFailure) and not isinstance(error, commands.BotMissingPermissions):
        needs = _needs(command)
        if needs == "owner":
            return _("Only the bot owner can use {command}.").format(command=name)
        if needs == "admin":
            return _("Only server admins (or members with Manage Server) can use {command}.").format(
                command=name
            )
        return None  # some other check (cooldown-like, a cog's own): leave it to Red
    return None


async def parent_checks_pass(ctx: commands.Context) -> bool:
    """Run the checks of a slash subcommand's parent groups.

    A prefix command runs its groups' checks on the way down; a slash (hybrid) subcommand is
    invoked directly and discord.py skips them, so ``@commands.is_owner()`` on ``ai provider``
    would not protect ``/ai provider add``. The cog calls this from ``cog_check``.
    """
    if ctx.interaction is None or ctx.command is None:
        return True
    for parent in reversed(ctx.command.parents):
        requires = getattr(parent, "requires", None)
        if requires is not None and not await requires.verify(ctx):
            return False
        for predicate in parent.checks:
            result = predicate(ctx)
            if hasattr(result, "__await__"):
                result = await result
            if not result:
                return False
    return True
