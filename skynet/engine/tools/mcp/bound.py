"""The bound on tool schemas offered in one request, so 10 servers × 50 tools don't fill the
context window.

Tools that are not from an MCP server (the built-ins, other cogs' tools) are always offered.
MCP tools are ranked by how many words of the member's message appear in their name and
description (ties keep registry order, so the choice is deterministic), then offered while both
limits hold: at most ``max_tools`` schemas in all and ``max_tokens`` tokens of MCP schemas.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Dict, List, Sequence, Tuple

from ..registry import Tool
from .manager import server_of

DEFAULT_MAX_TOOLS = 24
DEFAULT_MAX_TOKENS = 3000
_WORD = re.compile(r"[a-z0-9]{3,}")


def _words(text: str) -> set:
    return set(_WORD.findall(text.lower().replace("_", " ")))


class SchemaBound:
    """Chooses the tools offered to the model; remembers each schema's token count."""

    def __init__(
        self,
        count_tokens: Callable[[str], int] = lambda text: len(text) // 4,
        max_tools: int = DEFAULT_MAX_TOOLS,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.count_tokens = count_tokens
        self.max_tools = max_tools
        self.max_tokens = max_tokens
        self._cost: Dict[Tuple[str, int], int] = {}
        self._words: Dict[Tuple[str, int], set] = {}

    def cost(self, tool: Tool) -> int:
        """Tokens of the tool's schema as sent to the provider (cached per tool object)."""
        key = (tool.name, id(tool))
        if key not in self._cost:
            if len(self._cost) > 5000:
                self._cost.clear()
            self._cost[key] = self.count_tokens(json.dumps(tool.openai_schema(), ensure_ascii=False))
        return self._cost[key]

    def _vocabulary(self, tool: Tool) -> set:
        key = (tool.name, id(tool))
        if key not in self._words:
            if len(self._words) > 5000:
                self._words.clear()
            self._words[key] = _words(f"{tool.name} {tool.description}")
        return self._words[key]

    def select(self, tools: Sequence[Tool], text: str) -> List[Tool]:
        fixed = [t for t in tools if server_of(t) is None]
        remote = [t for t in tools if server_of(t) is not None]
        if not remote:
            return list(tools)
        asked = _words(text)
        ranked = sorted(
            enumerate(remote), key=lambda pair: (-len(asked & self._vocabulary(pair[1])), pair[0])
        )
        chosen: List[Tool] = []
        room = max(0, self.max_tools - len(fixed))
        tokens = 0
        for _index, tool in ranked:
            if len(chosen) >= room:
                break
            cost = self.cost(tool)
            if tokens + cost > self.max_tokens:
                continue  # a smaller one may still fit
            chosen.append(tool)
            tokens += cost
        keep = {id(t) for t in chosen}
        return fixed + [t for t in remote if id(t) in keep]
