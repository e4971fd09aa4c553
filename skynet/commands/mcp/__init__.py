"""``[p]ai mcp …``: tools from MCP servers (the shell over ``skynet/engine/tools/mcp``)."""

from .mixin import McpMixin

__all__ = ["McpMixin"]
