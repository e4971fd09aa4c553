"""Parsing numbers typed by admins: a clear refusal with the allowed range, never a surprise."""

from __future__ import annotations

import math

from ..errors import InvalidValue


def parse_number(text: str, *, what: str, minimum: float, maximum: float, integer: bool = False) -> float:
    """Parse ``text`` as a finite number in ``[minimum, maximum]``; raise InvalidValue otherwise."""
    allowed = f"{what} must be {'a whole' if integer else 'a'} number from {_fmt(minimum)} to {_fmt(maximum)}"
    cleaned = str(text).strip().lstrip("$").strip()
    # float() accepts "1_000", "١٢" and surrounding whitespace; admins typing those meant something else.
    if not cleaned or not cleaned.isascii() or "_" in cleaned or not cleaned.isprintable():
        raise InvalidValue(f"{allowed}; `{_shown(text)}` isn't one.")
    try:
        value = float(cleaned)
    except ValueError:
        raise InvalidValue(f"{allowed}; `{_shown(text)}` isn't one.") from None
    if not math.isfinite(value):
        raise InvalidValue(f"{allowed}, not infinity or NaN.")
    if integer and value != int(value):
        raise InvalidValue(f"{allowed}, without decimals.")
    if not minimum <= value <= maximum:
        raise InvalidValue(f"{allowed}; {_fmt(value)} is out of range.")
    return int(value) if integer else value


def _fmt(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,}"


def _shown(text: str) -> str:
    shown = "".join(ch if ch.isprintable() and ch.isascii() else "?" for ch in str(text))
    return shown[:40].replace("`", "'")
