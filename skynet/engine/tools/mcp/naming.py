"""Registry names for MCP tools: ``<server>__<tool>``, valid for OpenAI (``^[a-zA-Z0-9_-]{1,64}$``).

Characters outside the set become ``_``; a name too long is cut and given a short hash of the
original so two long names stay apart. Two tools of one server that still end up with the same
name are told apart deterministically: sorted by their original names, the first keeps the name,
the next get ``_2``, ``_3``… (the same tool list always gives the same names).
"""

from __future__ import annotations

import hashlib
import re
from typing import Dict, Iterable

LIMIT = 64
SEPARATOR = "__"


def _clean(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", text) or "_"


def _fit(base: str, limit: int, original: str) -> str:
    if len(base) <= limit:
        return base
    digest = hashlib.sha1(original.encode("utf-8")).hexdigest()[:6]
    return f"{base[: limit - 7]}_{digest}"


def registry_names(server: str, tools: Iterable[str]) -> Dict[str, str]:
    """Map each original tool name of ``server`` to its unique registry name."""
    prefix = f"{_clean(server)}{SEPARATOR}"
    room = LIMIT - len(prefix)
    result: Dict[str, str] = {}
    taken: set = set()
    for original in sorted(set(tools)):
        candidate = prefix + _fit(_clean(original), room, original)
        number = 2
        while candidate in taken:
            suffix = f"_{number}"
            candidate = prefix + _fit(_clean(original), room - len(suffix), original + suffix) + suffix
            number += 1
        taken.add(candidate)
        result[original] = candidate
    return result
