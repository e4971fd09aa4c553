"""The optional web panel: usage charts, budgets, memory browser, settings and "my data".

Off by default; ``[p]ai panel enable`` starts it with the cog. See ``docs/panel.md``.
"""

from .server import DEFAULT_HOST, DEFAULT_PORT, PanelServer, PortUnavailable

__all__ = ["PanelServer", "PortUnavailable", "DEFAULT_HOST", "DEFAULT_PORT"]
