"""Window pruning policies per server and channel: parsing what admins type, and resolving layers.

Three limits, each optional at each scope (channel ▸ server ▸ default): ``messages`` (turns kept),
``tokens`` (tokens of history sent; it leaves the model's context room for the answer) and
``age`` (turns older than this are forgotten).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Sequence

from ..errors import InvalidValue
from ..i18n import _
from .windows import WindowPolicy

MESSAGES, TOKENS, AGE = "messages", "tokens", "age"
KINDS = (MESSAGES, TOKENS, AGE)
LIMITS = {MESSAGES: (2, 200), TOKENS: (200, 3000), AGE: (60, 90 * 86400)}
FIELDS = {MESSAGES: "max_turns", TOKENS: "max_tokens", AGE: "max_age_seconds"}
DEFAULT_POLICY = WindowPolicy()
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_kind(text: str) -> str:
    kind = text.strip().lower()
    if kind not in KINDS:
        raise InvalidValue(_("The policy is one of `messages`, `tokens` or `age`."))
    return kind


def parse_value(kind: str, text: str) -> int:
    """``messages 30``, ``tokens 2000``, ``age 12h`` (s, m, h, d, w; plain numbers are seconds)."""
    low, high = LIMITS[kind]
    text = text.strip().lower()
    if kind == AGE:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", text)
        value = int(float(match.group(1)) * _UNITS[match.group(2) or "s"]) if match else None
        refusal = _("`{kind}` must be between 1m and 90d, e.g. `30m`, `12h` or `7d`.")
    else:
        value = int(text) if text.isdigit() else None
        refusal = _("`{kind}` must be a whole number from {low} to {high}.")
    if value is None or not (low <= value <= high):
        raise InvalidValue(refusal.format(kind=kind, low=low, high=high))
    return value


def describe(kind: str, value: float) -> str:
    if kind != AGE:
        return str(int(value))
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= seconds and value % seconds == 0:
            return f"{int(value // seconds)}{unit}"
    return f"{int(value)}s"


def resolve_policy(
    layers: Sequence[Mapping[str, Any]], default: WindowPolicy = DEFAULT_POLICY
) -> WindowPolicy:
    """Most specific layer first (channel, server); missing values fall back to ``default``."""
    values: Dict[str, Any] = {}
    for layer in reversed(layers):
        for kind in KINDS:
            if layer.get(kind) is not None:
                values[FIELDS[kind]] = layer[kind]
    return WindowPolicy(**{**default.__dict__, **values}) if values else default
