"""The attributes every mixin can rely on (Red's Audio cog pattern)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Optional

from redbot.core import Config, commands
from redbot.core.bot import Red

from .delivery.inflight import InFlight
from .delivery.pacing import Pacer
from .delivery.webhooks import ChannelWebhooks
from .engine.chat import ChatEngine
from .engine.errors import Redactor
from .engine.governance.governor import Governor, Ticket
from .engine.governance.listening import Listener
from .engine.memory import ConversationMemory
from .engine.memory.service import MemoryService
from .engine.privacy.service import PrivacyService
from .engine.providers.catalog import ModelCatalog
from .engine.providers.registry import ProviderRegistry
from .engine.tools.service import ToolService
from .engine.usage.tokens import TokenCounter
from .stores.governance import GovernanceStore
from .stores.personas import PersonaStore
from .stores.settings import SettingsStore
from .stores.usage import UsageStore


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
    governance: GovernanceStore
    governor: Governor
    listener: Listener
    tool_service: ToolService
    counter: TokenCounter
    memory_service: MemoryService
    inflight: InFlight
    personas: PersonaStore
    webhooks: ChannelWebhooks
    privacy: PrivacyService

    @abstractmethod
    def refresh_providers(self) -> None:
        """Push stored endpoints and pricing to the engine after the owner changed them."""

    @abstractmethod
    def admit(self, author, channel, request) -> Ticket:
        """Governance: check rate limits and reserve budget for a chat request (or raise a refusal)."""

    @abstractmethod
    def tool_refusal(self, tool: str, request) -> Optional[str]:
        """Governance: why ``tool`` may not run for this request's member and channel, or None."""

    @abstractmethod
    def switched_on(self, tool, guild_id: Optional[int], channel_id: Optional[int]):
        """Tools: whether ``tool`` is switched on in that channel, and the scope that decided."""

    @abstractmethod
    def active_persona(self, author, channel):
        """Personas: the persona answering ``author`` in ``channel`` (an ``ActivePersona``), or None."""

    @abstractmethod
    def check_dm_allowed(self, author) -> None:
        """DMs: refuse a member the owner's switches keep out of DMs."""

    @abstractmethod
    async def store_budget(self, scope_id: int, total: bool, amount: str, unit: str):
        """Governance: store a daily budget of a server (or of DMs); returns (amount, cleared)."""

    @abstractmethod
    async def store_rate(self, scope_id: int, who: str, requests: str, seconds: str):
        """Governance: store a rate limit of a server (or of DMs); returns the ``Rate``."""


    # -- privacy (skynet/commands/privacy/), called by the chat, listening and memory areas

    @abstractmethod
    def storing_decision(self, author, channel):
        """Privacy: the storing gate's decision for what ``author`` says in ``channel`` (no I/O)."""

    @abstractmethod
    def check_consent(self, author, channel) -> None:
        """Privacy: refuse a member who has not consented where the server requires it."""

    @abstractmethod
    async def moderate_input(self, ctx, text: str, images=()) -> None:
        """Privacy: refuse a member's message the server's moderation flags."""

    @abstractmethod
    async def moderate_answer(self, ctx, streamer) -> None:
        """Privacy: replace a finished answer the server's moderation flags by a notice."""

    @abstractmethod
    async def send_own_export(self, ctx) -> None:
        """Privacy: send the member everything the data map holds about them."""

    @abstractmethod
    async def forget_in_server(self, user_id: int, guild_id: int):
        """Privacy: forget a member in one server, through the data map (results by store)."""


class CompositeMetaClass(type(commands.Cog), type(ABC)):
    """Lets the cog combine Red's Cog metaclass with the ABC of its mixins."""
