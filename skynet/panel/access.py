"""Who sees what in the panel: the same rules as the commands.

The bot owner sees everything (every server and DMs); a server's admins (Red's admin role,
Administrator, Manage Server: the check the admin commands make) see and change that server only;
a member sees their own data in each server they share with the bot. Worked out again on every
request, so a removed role or a member who left loses access at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, FrozenSet, List

DMS = 0  # the "server" id of DMs in the usage series (owner only)


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    owner: bool
    admin_of: FrozenSet[int]  # servers this member administers
    member_of: FrozenSet[int]  # servers this member is in

    def may_admin(self, guild_id: int) -> bool:
        """May see everything of this server and change its settings."""
        return self.owner or guild_id in self.admin_of

    def is_member(self, guild_id: int) -> bool:
        return guild_id in self.member_of


async def is_server_admin(bot: Any, member: Any) -> bool:
    """The admin commands' check (``commands.common.is_server_admin``) for a member object."""
    return bool(
        await bot.is_owner(member) or await bot.is_admin(member) or member.guild_permissions.manage_guild
    )


async def viewer_for(bot: Any, user_id: int) -> Viewer:
    user = bot.get_user(user_id)
    owner = user_id in getattr(bot, "owner_ids", ()) or (user is not None and await bot.is_owner(user))
    admin_of: List[int] = []
    member_of: List[int] = []
    name = getattr(user, "display_name", None) or str(user_id)
    for guild in bot.guilds:
        member = guild.get_member(user_id)
        if member is None:
            continue
        member_of.append(guild.id)
        if owner or await is_server_admin(bot, member):
            admin_of.append(guild.id)
    return Viewer(user_id, name, bool(owner), frozenset(admin_of), frozenset(member_of))
