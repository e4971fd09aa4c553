"""The skynet cog: the mixins assembled around one engine."""

from __future__ import annotations

import asyncio
import logging
from typing import Mapping, Optional

from redbot.core import commands
from redbot.core.bot import Red

from .abc import CompositeMetaClass
from .config import make_config, migrate
from .discord.pacing import Pacer
from .discord.webhooks import ChannelWebhooks
from .engine.accounting import UsageLedger
from .engine.catalog import ModelCatalog
from .engine.chat import ChatEngine
from .engine.errors import Redactor, SkynetError
from .engine.memory import ConversationMemory
from .engine.pricing import PriceBook
from .engine.providers.registry import ProviderRegistry
from .engine.tokens import TokenCounter
from .mixins.chat import ChatMixin
from .mixins.common import reply
from .mixins.data import DataMixin
from .mixins.group import AIGroup
from .mixins.models import ModelsMixin
from .mixins.params import ParamsMixin
from .mixins.personas import PersonasMixin
from .mixins.providers import ProvidersMixin
from .mixins.stats import StatsMixin
from .personas_store import PersonaStore
from .settings_store import SettingsStore
from .usage_store import UsageStore

log = logging.getLogger("red.skynet")


class Skynet(
    ChatMixin,
    ModelsMixin,
    ParamsMixin,
    PersonasMixin,
    ProvidersMixin,
    StatsMixin,
    DataMixin,
    AIGroup,
    commands.Cog,
    metaclass=CompositeMetaClass,
):
    """An AI assistant for your server, on any OpenAI-compatible provider."""

    def __init__(self, bot: Red) -> None:
        super().__init__()
        self.bot = bot
        self.config = make_config(self)
        self.settings = SettingsStore(self.config)
        self.redactor = Redactor()
        self.counter = TokenCounter()
        self.providers = ProviderRegistry(self._api_key, self.redactor)
        self.catalog = ModelCatalog(self.providers)
        self.memory = ConversationMemory(self.counter.count)
        self.usage = UsageStore(self.config, UsageLedger())
        self.engine = ChatEngine(
            self.providers, self.memory, self.usage.ledger, self.counter, PriceBook(), self.redactor
        )
        self.pacer = Pacer()
        self.personas = PersonaStore(self.config)
        self._pending_imports = {}
        self._prefixes = {}
        self.webhooks = ChannelWebhooks()

    async def cog_load(self) -> None:
        await migrate(self.config)
        await self.settings.load()
        await self.personas.load()
        self.bot.before_invoke(self.remember_prefix)
        self.refresh_providers()
        # Loading an encoding reads a file and builds tables (~0.3 s): keep it off the event loop.
        await asyncio.to_thread(self.counter.load)
        self.usage.start()

    async def cog_unload(self) -> None:
        self.bot.remove_before_invoke_hook(self.remember_prefix)
        await self.usage.stop()
        await self.providers.aclose()

    def refresh_providers(self) -> None:
        for name in self.providers.set_endpoints(self.settings.endpoints):
            self.catalog.forget(name)
        self.engine.prices = self.settings.price_book()

    async def _api_key(self, service: str) -> Optional[str]:
        return (await self.bot.get_shared_api_tokens(service)).get("api_key")

    @commands.Cog.listener()
    async def on_red_api_tokens_update(self, service_name: str, api_tokens: Mapping[str, str]) -> None:
        self.providers.forget_service(service_name)

    async def cog_command_error(self, ctx: commands.Context, error: Exception) -> None:
        """Friendly errors (bad values, missing permissions for a scope...) are answered here."""
        original = error
        while getattr(original, "original", None) is not None:
            original = original.original
        if isinstance(original, SkynetError):
            await reply(ctx, original.message.replace("[p]", ctx.clean_prefix), ephemeral=True)
            return
        await self.bot.on_command_error(ctx, error, unhandled_by_cog=True)
