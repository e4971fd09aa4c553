"""``[p]ai panel``: the optional web panel (``skynet/panel``), and its Red-Web-Dashboard pages."""

from .commands import PanelMixin

__all__ = ["PanelMixin"]
