"""Which tools are on for a request: most specific switch wins (channel ▸ server ▸ global ▸ tool default)."""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from .registry import Tool

ALL = "all"


def is_enabled(tool: Tool, layers: Sequence[Mapping[str, bool]]) -> Tuple[bool, Optional[int]]:
    """Whether ``tool`` is on, and the index of the layer that decided (None: the tool's default)."""
    for index, layer in enumerate(layers):
        if tool.name in layer:
            return bool(layer[tool.name]), index
        if ALL in layer:
            return bool(layer[ALL]), index
    return tool.default_enabled, None


def enabled_names(tools: Iterable[Tool], layers: Sequence[Mapping[str, bool]]) -> List[str]:
    return [tool.name for tool in tools if is_enabled(tool, layers)[0]]
