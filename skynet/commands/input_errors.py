"""A command typed wrongly (missing or unreadable arguments), said in the cog's one error style.

Red answers these with the command's help and no word on what was wrong; this says which
argument, what it may be, and how the command is written.
"""

from __future__ import annotations

from typing import Optional

from discord.ext.commands import (
    ArgumentParsingError,
    BadArgument,
    BadLiteralArgument,
    MissingRequiredArgument,
    MissingRequiredAttachment,
    TooManyArguments,
    UserInputError,
)
from redbot.core import commands

from ..i18n import _

SHOWN_VALUE = 40  # characters of a wrong value echoed back


def _usage(ctx: commands.Context) -> str:
    command = ctx.command
    written = " ".join(
        part for part in (ctx.clean_prefix + command.qualified_name, command.signature) if part
    )
    return f"`{written}`"


def input_error_text(ctx: commands.Context, error: Exception) -> Optional[str]:
    """The message for a wrongly typed command, or None if ``error`` is not one."""
    if not isinstance(error, UserInputError) or ctx.command is None:
        return None
    if isinstance(error, (MissingRequiredArgument, MissingRequiredAttachment)):
        text = _("`{command}` needs `{argument}`.").format(
            command=ctx.command.qualified_name, argument=error.param.displayed_name or error.param.name
        )
    elif isinstance(error, BadLiteralArgument):
        text = _("`{value}` isn't a choice for `{argument}`: use {choices}.").format(
            value=(error.argument or "")[:SHOWN_VALUE],
            argument=error.param.displayed_name or error.param.name,
            choices=", ".join(f"`{choice}`" for choice in error.literals),
        )
    elif isinstance(error, TooManyArguments):
        text = _("`{command}` got more than it takes.").format(command=ctx.command.qualified_name)
    elif isinstance(error, ArgumentParsingError):
        text = _("I couldn't read that command: check its quotes.")
    elif isinstance(error, BadArgument) and ctx.current_parameter is not None:
        text = _("That value for `{argument}` isn't valid.").format(
            argument=ctx.current_parameter.displayed_name or ctx.current_parameter.name
        )
    else:
        text = _("That command isn't written right.")
    return (
        text
        + " "
        + _("Usage: {usage} (more with `{prefix}help {command}`)").format(
            usage=_usage(ctx), prefix=ctx.clean_prefix, command=ctx.command.qualified_name
        )
    )
