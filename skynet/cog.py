"""The skynet cog: the mixins assembled around one engine."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from typing import Mapping, Optional

from redbot.core import commands
from redbot.core.bot import Red
from redbot.core.i18n import cog_i18n

from .abc import CompositeMetaClass
from .commands.channels import ChannelsMixin
from .commands.chat.answers import AnswersMixin
from .commands.chat.chat import ChatMixin
from .commands.chat.handover import HandoverMixin
from .commands.common import reply
from .commands.diag.diag import DiagMixin
from .commands.governance.admission import AdmissionMixin
from .commands.governance.budgets import BudgetsMixin
from .commands.governance.dms import DMsMixin
from .commands.governance.policies import PoliciesMixin
from .commands.governance.ratelimits import RateLimitsMixin
from .commands.group import AIGroup
from .commands.input_errors import input_error_text
from .commands.listen.listen import ListenMixin
from .commands.listen.passive import PassiveMixin
from .commands.mcp import McpMixin
from .commands.media import MediaMixin
from .commands.memory.admin import MemoryAdminMixin
from .commands.memory.auto import AutoMemoriesMixin
from .commands.memory.documents import DocumentsMixin
from .commands.memory.lifecycle import MemoryMixin
from .commands.memory.memories import MemoriesMixin
from .commands.memory.server_facts import ServerFactsMixin
from .commands.memory.storage import MemoryStorageMixin
from .commands.models.fallbacks import ReliabilityMixin
from .commands.models.models import ModelsMixin
from .commands.models.params import ParamsMixin
from .commands.panel import PanelMixin
from .commands.permissions import parent_checks_pass, refusal
from .commands.personas.personas import PersonasMixin
from .commands.personas.prompting import PromptingMixin
from .commands.privacy.audit import AuditMixin
from .commands.privacy.consent import ConsentMixin
from .commands.privacy.data import DataMixin
from .commands.privacy.lifecycle import PrivacyLifecycleMixin
from .commands.privacy.moderation import ModerationMixin
from .commands.providers.pricing import PricingSourceMixin
from .commands.providers.providers import ProvidersMixin
from .commands.slash import arrange_slash
from .commands.tools.research import ResearchMixin
from .commands.tools.setup import ToolsSetupMixin
from .commands.tools.tools import ToolsMixin
from .commands.usage.stats import StatsMixin
from .delivery import lifecycle
from .delivery.inflight import InFlight
from .delivery.pacing import Pacer
from .delivery.ratelimits import RateLimitFeedback
from .delivery.style import error_text
from .delivery.webhooks import ChannelWebhooks
from .engine.chat import ChatEngine
from .engine.errors import Redactor, SkynetError
from .engine.governance.governor import Governor
from .engine.governance.listening import Listener
from .engine.memory import ConversationMemory
from .engine.providers.catalog import ModelCatalog
from .engine.providers.registry import ProviderRegistry
from .engine.providers.warmup import warm_up_blocking
from .engine.reliability.services import explain_service_failure
from .engine.usage.accounting import UsageLedger
from .engine.usage.pricing import PriceBook
from .engine.usage.pricing_table import PriceTable
from .engine.usage.tokens import TokenCounter
from .i18n import _
from .stores.config import make_config, migrate
from .stores.governance import GovernanceStore
from .stores.personas import PersonaStore
from .stores.rollback import install as install_rollback
from .stores.settings import SettingsStore
from .stores.usage import UsageStore

log = logging.getLogger("red.skynet")


@cog_i18n(_)
class Skynet(
    ChatMixin,
    AnswersMixin,
    HandoverMixin,
    ModelsMixin,
    ParamsMixin,
    PersonasMixin,
    PromptingMixin,
    DMsMixin,
    ProvidersMixin,
    ReliabilityMixin,
    StatsMixin,
    MemoryAdminMixin,
    MemoryStorageMixin,
    AutoMemoriesMixin,
    MemoriesMixin,
    DocumentsMixin,
    ChannelsMixin,
    MemoryMixin,
    DataMixin,  # Red's data API, through the data map
    ConsentMixin,
    ModerationMixin,
    AuditMixin,
    ServerFactsMixin,
    PrivacyLifecycleMixin,
    ToolsSetupMixin,
    ToolsMixin,
    ResearchMixin,
    PassiveMixin,
    ListenMixin,
    AdmissionMixin,
    BudgetsMixin,
    RateLimitsMixin,
    PoliciesMixin,
    PanelMixin,
    DiagMixin,
    PricingSourceMixin,
    McpMixin,
    MediaMixin,
    AIGroup,
    commands.Cog,
    metaclass=CompositeMetaClass,
):
    """An AI assistant for your server, on any OpenAI-compatible provider."""

    def __init__(self, bot: Red) -> None:
        super().__init__()
        self.bot = bot
        self.__cog_app_commands__.append(arrange_slash(self, self.ai))  # /ai for members, /aiset
        self.config = make_config(self)
        # A failed write is rolled back in Red's copy too, and said (stores/rollback.py).
        install_rollback(self.config, self._storage_failed)
        self.redactor = Redactor()
        self.privacy = self.init_privacy()  # before any write: the audit log wraps Config here
        self.settings = SettingsStore(self.config)
        self.counter = TokenCounter()
        self.providers = ProviderRegistry(self._api_key, self.redactor)
        self.catalog = ModelCatalog(self.providers)
        self.memory = ConversationMemory(self.counter.count)
        self.usage = UsageStore(self.config, UsageLedger())
        self.engine = ChatEngine(
            self.providers, self.memory, self.usage.ledger, self.counter, PriceBook(), self.redactor
        )
        self.pacer = lifecycle.reuse_pacer(bot, Pacer())  # a reload keeps Discord's windows
        self.init_tools()
        self.init_mcp()
        self.ratelimit_feedback = RateLimitFeedback(lambda: self.pacer)  # 429s discord.py absorbed itself
        self.governor = Governor(lambda: self.engine.prices)
        self.governance = GovernanceStore(self.config, self.governor.ledger)
        self.listener = Listener()
        self._chain_cache = OrderedDict()
        self._notified = {}
        self._passive_open = Counter()
        self.memory_service = self.make_memory_service()
        self.inflight = InFlight()  # replies being written; unload ends them with a note
        self.price_table = PriceTable()  # genai-prices, loaded in the background by cog_load
        self.personas = PersonaStore(self.config)
        self._pending_imports = {}
        self._prefixes = {}
        self._default_prefix = "[p]"  # the bot's own, read in cog_load
        self.webhooks = ChannelWebhooks()
        self.init_media()  # images, voice, reasoning display, reply buttons (commands/media)
        self.channels_init()  # schedules, threads, auto-answer, own keys (after tools and memory)

    async def cog_load(self) -> None:
        await self.usage.open()
        await migrate(self.config, self.usage)
        await self.settings.load()
        await self.governance.load()
        await self.personas.load()
        self.bot.before_invoke(self.remember_prefix)
        await self.load_default_prefix()
        self.refresh_providers()
        # Loading an encoding reads a file and builds tables (~0.3 s): keep it off the event loop.
        await asyncio.to_thread(self.counter.load)
        self.start_price_table()  # after the encoding: both threads would compete for the GIL
        self._warm_up_task = asyncio.create_task(self._warm_up(), name="skynet-warm-up")
        self.usage.start()
        await self.load_tools()
        await self.load_mcp()  # registers the servers' cached tools; no process starts here
        await self.media_load()
        self.ratelimit_feedback.install()
        self.governance.start()
        await self.memory_load()
        await self.auto_memories_load()
        await self.privacy_load()  # after memory: the storing gate shares its incognito set
        await self.channels_start()
        self.engine.series = self.usage.series  # per-day usage for the panel's charts
        self.tool_loop.observer = self._count_tool_call  # tool calls per day, for the panel
        await self.panel_load()  # only when the owner turned it on
        self.adopt_requests()  # last: what a previous instance left unanswered

    async def _warm_up(self) -> None:
        """What the first answer would pay for (the SDK's request caches...), in a worker thread
        after the price table's (one thread at a time), without delaying ``[p]load``."""
        await asyncio.wait({self._price_table_task})
        await asyncio.to_thread(warm_up_blocking)

    async def cog_unload(self) -> None:
        self._warm_up_task.cancel()
        await self.close_replies()  # first (a clean cut): their partial usage is flushed below
        await self.media_unload()  # the buttons stop routing here
        await self.channels_stop()  # before usage stops: a last tick's schedules are counted
        await self.panel_unload()
        self.ratelimit_feedback.uninstall()
        await self.memory_unload()
        await self.privacy_unload()
        self.bot.remove_before_invoke_hook(self.remember_prefix)
        await self.usage.stop()
        await self.unload_mcp()  # every MCP session closed, every child process stopped
        await self.unload_tools()
        await self.governance.stop()
        await self.providers.aclose()

    def _storage_failed(self, message: str, detail: str) -> None:
        """A Config write failed and was rolled back: keep it for ``[p]ai diag``."""
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.errors.record("storage_write_failed", message, detail)

    def _count_tool_call(self, name: str, request: object, seconds: float, ok: bool) -> None:
        self.usage.series.tool(guild_id=getattr(request, "guild_id", None), name=name, seconds=seconds, ok=ok)

    def refresh_providers(self) -> None:
        for name in self.providers.set_endpoints(self.settings.endpoints):
            self.catalog.forget(name)
        self.engine.prices = self.settings.price_book()
        self.engine.vision_overrides = self.settings.vision_overrides()
        self.apply_price_table()

    async def _api_key(self, service: str) -> Optional[str]:
        return (await self.bot.get_shared_api_tokens(service)).get("api_key")

    @commands.Cog.listener()
    async def on_red_api_tokens_update(self, service_name: str, api_tokens: Mapping[str, str]) -> None:
        self.providers.forget_service(service_name)
        self._tool_tokens(service_name, api_tokens)
        self.mcp_tokens_changed(service_name, api_tokens)

    async def cog_check(self, ctx: commands.Context) -> bool:
        """Slash subcommands must pass their groups' checks too (owner-only ``ai provider``...)."""
        return await parent_checks_pass(ctx)

    async def cog_command_error(self, ctx: commands.Context, error: Exception) -> None:
        """Friendly errors (bad values, missing permissions for a scope...) are answered here."""
        original = error
        while getattr(original, "original", None) is not None:
            original = original.original
        if isinstance(original, SkynetError):
            await reply(ctx, error_text(original.message, ctx.clean_prefix), ephemeral=True)
            return
        refused = refusal(ctx, original) or input_error_text(ctx, original)
        if refused is not None:  # Red answers a failed check with silence, bad input with help only
            await reply(ctx, error_text(refused, ctx.clean_prefix), ephemeral=True)
            return
        failure = explain_service_failure(original, self.redactor.redact)
        if failure is not None:  # a backing service failed under the command: say which
            self.engine.errors.record(failure.kind, failure.message, failure.detail, getattr(ctx.guild, "id", None))
            await reply(ctx, error_text(failure.message, ctx.clean_prefix), ephemeral=True)
            return
        if isinstance(error, commands.CommandInvokeError):  # a bug: keep it for [p]ai diag too
            name = ctx.command.qualified_name if ctx.command else "?"
            detail = self.redactor.redact(f"{name}: {type(original).__name__}: {original}")
            self.engine.errors.record(
                "command_failed",
                _("`{name}` failed.").format(name=name),
                detail,
                getattr(ctx.guild, "id", None),
            )
        await self.bot.on_command_error(ctx, error, unhandled_by_cog=True)
