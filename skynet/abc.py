"""The attributes every mixin can rely on (Red's Audio cog pattern)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from redbot.core import Config, commands
from redbot.core.bot import Red

from .discord.pacing import Pacer
from .engine.catalog import ModelCatalog
from .engine.chat import ChatEngine
from .engine.errors import Redactor
from .engine.memory import ConversationMemory
from .engine.providers.registry import ProviderRegistry
from .personas_store import PersonaStore
from .settings_store import SettingsStore
from .usage_store import UsageStore


class MixinMeta(ABC):
    """Base of all of skynet's mixins; :class:`skynet.cog.Skynet` provides these attributes."""

    bot: Red
    config: Config
    settings: SettingsStore
    usage: UsageStore
    providers: ProviderRegistry
    catalog: ModelCatalog
    memory: ConversationMemory
    engine: ChatEngine
    pacer: Pacer
    redactor: Redactor
    personas: PersonaStore

    @abstractmethod
    def refresh_providers(self) -> None:
        """Push stored endpoints and pricing to the engine after the owner changed them."""


class CompositeMetaClass(type(commands.Cog), type(ABC)):
    """Lets the cog combine Red's Cog metaclass with the ABC of its mixins."""
