"""The channel assistant's commands: ``ai tldr``, ``ai schedule``, ``ai threads``, ``ai autoanswer``,
``ai mykey`` (engine: :mod:`skynet.engine.channels`)."""

from .mixin import ChannelsMixin

__all__ = ["ChannelsMixin"]
