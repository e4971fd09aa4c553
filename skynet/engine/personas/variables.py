"""Prompt variables: ``{name}`` placeholders filled from a plain mapping of strings.

Only ``{identifier}`` is a placeholder. Values are inserted as data in one regex pass: a value
containing ``{user}`` (a member named that way) is never expanded again, there is no format-string
evaluation and no attribute or index access. Anything else (``{``, ``{nope}``, ``{user.__class__}``,
``{{``) is left exactly as typed, and nothing here raises.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Iterator, Mapping

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,40})\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every known ``{name}`` replaced by ``values[name]``."""
    if "{" not in template:
        return template

    def substitute(match: "re.Match[str]") -> str:
        name = match.group(1)
        try:
            value = values[name]
        except KeyError:
            return match.group(0)
        except Exception:  # a lazy value that failed: keep the placeholder rather than break the chat
            return match.group(0)
        return str(value)

    return PLACEHOLDER.sub(substitute, template)


def used_names(template: str) -> "set[str]":
    return set(PLACEHOLDER.findall(template))


class LazyVariables(Mapping[str, str]):
    """A mapping whose values are computed on first access (only the variables a prompt uses)."""

    def __init__(self, getters: Mapping[str, Callable[[], object]]) -> None:
        self._getters = getters
        self._cache: Dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self._cache:
            value = self._getters[name]()  # KeyError for unknown names, as a Mapping should
            self._cache[name] = "" if value is None else str(value)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._getters)

    def __len__(self) -> int:
        return len(self._getters)
