"""Which tools are on for a request: most specific switch wins (channel ▸ server ▸ global ▸ tool default)."""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from .registry import Tool

ALL = "all"


GROUP_PREFIX = "mcp:"  # tools of an MCP server have the owner ``mcp:<server>``, its switch's name


def is_enabled(tool: Tool, layers: Sequence[Mapping[str, bool]]) -> Tuple[bool, Optional[int]]:
    """Whether ``tool`` is on, and the index of the layer that decided (None: the tool's default).

    In one layer a tool's own switch beats its MCP server's (``mcp:<server>``), which beats
    ``all``. ``all`` can switch MCP tools off but not on: the owner's servers are enabled by name.
    """
    group = tool.owner if tool.owner.startswith(GROUP_PREFIX) else None
    for index, layer in enumerate(layers):
        if tool.name in layer:
            return bool(layer[tool.name]), index
        if group is not None and group in layer:
            return bool(layer[group]), index
        if ALL in layer and (group is None or not layer[ALL]):
            return bool(layer[ALL]), index
    return tool.default_enabled, None


def enabled_names(tools: Iterable[Tool], layers: Sequence[Mapping[str, bool]]) -> List[str]:
    return [tool.name for tool in tools if is_enabled(tool, layers)[0]]
