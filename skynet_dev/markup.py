"""Discord's markup for mentions and timestamps, shown the way members see it (console output only)."""

from __future__ import annotations

import datetime
import math
import re
import time
from typing import Callable, List, Optional, Tuple

import discord

# Discord's markup for mentions and timestamps; members see names and dates, not this.
MARKUP = re.compile(r"<(#|@!?|@&)(\d+)>|<t:(-?\d+)(?::([tTdDfFR]))?>")
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)  # shown as typed: no mention renders in code
UNKNOWN = {"#": "#unknown", "@": "@unknown-user", "@&": "@deleted-role"}  # Discord's words
# Absolute timestamp styles, in UTC (a member sees their own time zone and locale).
TIMESTAMP_STYLES = {
    "t": "%H:%M UTC",
    "T": "%H:%M:%S UTC",
    "d": "%Y-%m-%d",
    "D": "%d %B %Y",
    "f": "%d %B %Y %H:%M UTC",
    "F": "%A, %d %B %Y %H:%M UTC",
}
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
MONTH, YEAR = 30.436875 * DAY, 365.2425 * DAY
# The :R style's phrases, as Discord words them: (below this many seconds, words, unit counted).
RELATIVE_STEPS: List[Tuple[float, str, Optional[float]]] = [
    (45, "a few seconds", None),
    (90, "a minute", None),
    (45 * MINUTE, "minutes", MINUTE),
    (90 * MINUTE, "an hour", None),
    (22 * HOUR, "hours", HOUR),
    (36 * HOUR, "a day", None),
    (26 * DAY, "days", DAY),
    (45 * DAY, "a month", None),
    (320 * DAY, "months", MONTH),
    (548 * DAY, "a year", None),
    (math.inf, "years", YEAR),
]

# The name a mention shows: (kind "#", "@" or "@&", id) -> name, or None if there is no such thing.
NameLookup = Callable[[str, int], Optional[str]]


def relative_time(seconds: float) -> str:
    """``seconds`` from now as the :R style says it: "in 3 hours", "5 minutes ago"."""
    span = abs(seconds)
    _limit, words, unit = next(step for step in RELATIVE_STEPS if span < step[0])
    phrase = f"{round(span / unit)} {words}" if unit else words
    return f"in {phrase}" if seconds > 0 else f"{phrase} ago"


def render_timestamp(unix: int, style: Optional[str], now: float) -> str:
    """A ``<t:unix:style>`` timestamp as text (style ``f`` when none is given, as Discord does)."""
    if style == "R":
        return relative_time(unix - now)
    try:
        moment = datetime.datetime.fromtimestamp(unix, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"<t:{unix}>"  # out of range: Discord shows it raw too
    return moment.strftime(TIMESTAMP_STYLES[style or "f"])


def render_markup(text: str, names: Optional[NameLookup] = None, now: Optional[float] = None) -> str:
    """``text`` with mentions as ``#channel``, ``@member``, ``@role`` and timestamps as dates,
    except inside code, which Discord shows as typed."""
    now = time.time() if now is None else now

    def replace(match: "re.Match[str]") -> str:
        if match.group(3) is not None:
            return render_timestamp(int(match.group(3)), match.group(4), now)
        kind = match.group(1).rstrip("!")
        name = names(kind, int(match.group(2))) if names else None
        return UNKNOWN[kind] if name is None else kind[0] + name.lstrip("@#")

    parts = CODE.split(text)
    return "".join(part if index % 2 else MARKUP.sub(replace, part) for index, part in enumerate(parts))


def guild_names(guild: discord.Guild) -> NameLookup:
    """Names from the simulated guild, looked up when printed (channels, members, roles)."""

    def lookup(kind: str, snowflake: int) -> Optional[str]:
        if kind == "#":
            channel = guild.get_channel_or_thread(snowflake)
            return channel.name if channel else None
        if kind == "@&":
            role = guild.get_role(snowflake)
            return role.name if role else None
        member = guild.get_member(snowflake)
        return member.display_name if member else None

    return lookup
