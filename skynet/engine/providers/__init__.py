"""AI providers behind one small interface (:class:`~.base.ChatProvider`)."""

from .base import ChatProvider, Endpoint, Finish, TokenUsage
from .registry import ProviderRegistry

__all__ = ["ChatProvider", "Endpoint", "Finish", "ProviderRegistry", "TokenUsage"]
