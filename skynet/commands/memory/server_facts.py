"""``[p]ai memories server list|forget``: the facts every member's prompts get in this server.

Server facts come from admins (``[p]ai remember`` or the ``remember`` tool with ``about:
server``, which stores about the speaker unless they may manage the server); admins list and
remove them here.
"""

from __future__ import annotations

from typing import List

from redbot.core import commands

from ...abc import MixinMeta
from ...engine.errors import InvalidValue
from ...engine.memory import recall as scoping
from ...engine.memory.recall import SERVER_SCOPE
from ...engine.memory.vector import Record
from ...i18n import _, plural
from ..common import NotAllowed, is_server_admin, reply
from .common import send_pages, short, when
from .memories import MemoriesMixin

SERVER_FACTS = {"scope": SERVER_SCOPE}


class ServerFactsMixin(MixinMeta):
    async def server_facts(self, guild_id: int) -> List[Record]:
        service = self.memory_service
        if service._nothing_stored():
            return []
        store = await service.ensure_open()
        records = await store.get(SERVER_FACTS, scoping.memory_place(guild_id))
        return sorted(records, key=lambda r: r.meta.get("at", 0))

    async def _require_server_admin(self, ctx: commands.Context) -> None:
        if ctx.guild is None:
            raise InvalidValue(_("Server facts belong to a server: run this in the server."))
        if not await is_server_admin(ctx):
            raise NotAllowed(_("Only server admins (or members with Manage Server) can change this."))

    @MemoriesMixin.ai_memories.command(name="server", with_app_command=False)
    async def ai_memories_server(self, ctx: commands.Context, action: str, *, ids: str = "") -> None:
        """Server admins: `list` the facts about this server that go into every member's prompts,
        or `forget <id…|all>` some of them."""
        choice = action.strip().lower()
        if choice == "list":
            await self.ai_memories_server_list(ctx)
        elif choice == "forget" and ids.strip():
            await self.ai_memories_server_forget(ctx, ids=ids)
        else:
            raise InvalidValue(_("Use `ai memories server list`, or `ai memories server forget <id…|all>`."))

    async def ai_memories_server_list(self, ctx: commands.Context) -> None:
        """List the facts remembered about this server, with who saved them."""
        await self._require_server_admin(ctx)
        records = await self.server_facts(ctx.guild.id)
        if not records:
            await reply(ctx, _("No facts are remembered about this server."))
            return
        lines = [_("**{count} server facts:**").format(count=len(records))]
        for r in records:
            who = f"<@{r.meta.get('user')}>" if r.meta.get("user") else "?"
            origin = _("by the assistant") if r.meta.get("source") == "tool" else _("by command")
            lines.append(f"`{r.id}` {short(r.text, 200)} · {who} {origin} {when(r.meta.get('at', 0))}")
        await send_pages(ctx, "\n".join(lines))

    async def ai_memories_server_forget(self, ctx: commands.Context, *, ids: str) -> None:
        """Forget server facts by id (several separated by spaces), or `all`."""
        await self._require_server_admin(ctx)
        service = self.memory_service
        store = await service.ensure_open()
        place = scoping.memory_place(ctx.guild.id)
        if ids.strip().lower() == "all":
            removed = await store.delete(SERVER_FACTS, place)
        else:
            removed = await store.delete_ids(ids.replace(",", " ").split(), SERVER_FACTS, place)
        if not removed:
            await reply(ctx, _("No server fact has that id; see `ai memories server list`."))
            return
        forgot = plural(removed, _("Forgot {count} server fact."), _("Forgot {count} server facts."))
        await reply(ctx, forgot.format(count=removed))
