"""Memory lifecycle: the memory service, window policies, the remember tool (Red's data API is the
privacy area's, through the data map).

The commands live in sibling mixins: ``memory_admin`` (``ai memory …``), ``memories`` (``ai history``,
``ai remember``, ``ai memories``, ``ai incognito``) and ``documents`` (``ai docs …``). See docs/memory.md.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from redbot.core import commands
from redbot.core.data_manager import cog_data_path

from ...abc import MixinMeta
from ...engine.events import Usage
from ...engine.governance.rules import DM_SCOPE
from ...engine.memory import WindowPolicy
from ...engine.memory import policy as window_policy
from ...engine.memory.embeddings import DEFAULT_EMBEDDING_MODEL
from ...engine.memory.service import MemoryOptions, MemoryService
from ...engine.memory.tool import REMEMBER_SCHEMA, remember_tool
from ...engine.memory.vector import BackendConfig
from ...engine.settings import ModelRef
from ...engine.tools.registry import Tool, ToolContext
from ...i18n import _
from ...stores.config import DEFAULT_MODEL
from ...stores.settings import CHANNEL, GUILD
from ...stores.usage import global_scope, guild_scope, member_scope, user_scope


class MemoryMixin(MixinMeta):
    memory_service: MemoryService

    # -- lifecycle (called by the cog) -----------------------------------------------------------

    def make_memory_service(self) -> MemoryService:
        service = MemoryService(
            self.providers,
            self.counter,
            self.memory,
            cog_data_path(self),
            default_embedding=self._default_embedding,
            errors=self.engine.errors,
            redactor=self.redactor,
            default_chat=lambda: self.settings.resolve(None, None).model,
        )
        service.judge.on_usage = self._memory_judge_usage
        service.judge.may_spend = self._memory_judge_may_spend
        self.memory.policy_for = self._window_policy
        self.engine.memory_service = service
        self.tool_service.registry.add(self._remember_tool(service))
        return service

    def _memory_judge_usage(
        self, model: ModelRef, prompt: int, completion: int, estimated: bool, who
    ) -> None:
        """The memory judge's tokens count like any request's: in usage (totals, server, member)
        and in the member's and server's budget today."""
        cost = self.engine.prices.cost(model.name, prompt, completion)
        scopes = [global_scope()]
        if who is not None:
            guild_id, user_id = who
            scopes += (
                [guild_scope(guild_id), member_scope(guild_id, user_id)]
                if guild_id
                else [user_scope(user_id)]
            )
            scope_id = guild_id or DM_SCOPE
            budgets = self.governance.rules(scope_id).budgets
            if budgets.active:
                keys = (("member", scope_id, user_id), ("guild", scope_id))
                self.governor.ledger.reserve(keys, budgets.reset_hour, prompt + completion, cost or 0.0)
        self.engine.ledger.record(tuple(scopes), Usage(prompt, completion, estimated, cost))

    def _memory_judge_may_spend(self, who) -> bool:
        """No judge call for a member (or server) whose budget is spent today: rules decide."""
        if who is None:
            return True
        guild_id, user_id = who
        scope_id = guild_id or DM_SCOPE
        budgets = self.governance.rules(scope_id).budgets
        if not budgets.active:
            return True
        for left in (
            self.governor.remaining(budgets, scope_id, user_id, ()),
            self.governor.server_remaining(budgets, scope_id),
        ):
            if left.limit is not None and left.left <= 0:
                return False
        return True

    def _remember_tool(self, service: MemoryService) -> Tool:
        """The model's ``remember`` tool: the same rules as ``[p]ai remember`` (off until enabled)."""

        async def handler(arguments: Dict[str, Any], ctx: ToolContext) -> str:
            return await remember_tool(
                service,
                json.dumps(arguments),
                guild_id=ctx.guild_id,
                user_id=ctx.user_id,
                channel_id=ctx.channel_id,
                may_set_server=await self.may_manage_server(ctx.guild_id, ctx.user_id),
            )

        schema = REMEMBER_SCHEMA["function"]
        return Tool(
            name=schema["name"],
            description=schema["description"],
            parameters=schema["parameters"],
            handler=handler,
            timeout=20.0,
            status=lambda arguments: _("🧠 Remembering that…"),
            summary=lambda: _("Remembers a fact about the member or the server, for later answers."),
        )

    async def may_manage_server(self, guild_id: Optional[int], user_id: int) -> bool:
        """Whether a member may set server-wide facts (Manage Server, an admin, the owner)."""
        guild = self.bot.get_guild(guild_id) if guild_id else None
        member = guild.get_member(user_id) if guild else None
        if member is None:
            return False
        return (
            member.guild_permissions.manage_guild
            or await self.bot.is_admin(member)
            or await self.bot.is_owner(member)
        )

    def _default_embedding(self) -> ModelRef:
        endpoint = (self.settings.resolve(None, None).model or ModelRef.from_json(DEFAULT_MODEL)).endpoint
        return ModelRef(endpoint, DEFAULT_EMBEDDING_MODEL)

    async def memory_load(self) -> None:
        service = self.memory_service
        service.options = stored_memory_options(await self.config.memory())
        service.set_compaction(service.options.compaction)
        service.chroma_token = (await self.bot.get_shared_api_tokens("chroma")).get("token")
        self._policies: Dict[tuple, Dict[str, Any]] = {}
        for guild_id, data in (await self.config.all_guilds()).items():
            if data.get("memory_policy"):
                self._policies[(GUILD, guild_id)] = data["memory_policy"]
        for channel_id, data in (await self.config.all_channels()).items():
            if data.get("memory_policy"):
                self._policies[(CHANNEL, channel_id)] = data["memory_policy"]
        service.incognito = {
            uid for uid, data in (await self.config.all_users()).items() if data.get("incognito")
        }
        await service.start()
        service.warm_up()

    async def restore_memory_options(self) -> None:
        """The stored options in force again: a write of them failed and was rolled back."""
        service = self.memory_service
        restored = stored_memory_options(await self.config.memory())
        if restored.backend != service.options.backend:
            await service.set_backend(restored.backend)
        service.options = restored
        service.set_compaction(restored.compaction)

    async def memory_unload(self) -> None:
        await self.memory_service.stop()

    def _window_policy(self, conversation: str) -> WindowPolicy:
        """Channel ▸ server ▸ default; threads use their parent channel's policy. No I/O."""
        kind, _, raw_id = conversation.partition(":")
        if kind != "channel" or not raw_id.isdigit():
            return self.memory.policy
        channel = self.bot.get_channel(int(raw_id))
        guild = getattr(channel, "guild", None)
        if guild is None:
            return self.memory.policy
        channel_id = getattr(channel, "parent_id", None) or channel.id
        layers = [self._policies.get((CHANNEL, channel_id), {}), self._policies.get((GUILD, guild.id), {})]
        return window_policy.resolve_policy(layers, self.memory.policy)

    @commands.Cog.listener("on_red_api_tokens_update")
    async def _memory_tokens_update(self, service_name: str, api_tokens: Dict[str, str]) -> None:
        if service_name == "chroma":
            self.memory_service.chroma_token = api_tokens.get("token")
            await self.memory_service.reset_store()


def stored_memory_options(stored: Dict[str, Any]) -> MemoryOptions:
    """The owner's memory options as stored in Config."""
    return MemoryOptions(
        backend=BackendConfig(**stored["backend"]) if stored.get("backend") else BackendConfig(),
        embedding_model=ModelRef.from_json(stored.get("embedding_model")),
        compaction_model=ModelRef.from_json(stored.get("compaction_model")),
        compaction=stored.get("compaction", True),
        judge=stored.get("judge", True),
        judge_model=ModelRef.from_json(stored.get("judge_model")),
    )
