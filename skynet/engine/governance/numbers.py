"""Parsing numbers typed by admins: a clear refusal with the allowed range, never a surprise."""

from __future__ import annotations

import math

from ..errors import InvalidValue
from ..i18n import _, number


def parse_number(text: str, *, what: str, minimum: float, maximum: float, integer: bool = False) -> float:
    """Parse ``text`` as a finite number in ``[minimum, maximum]``; raise InvalidValue otherwise.

    ``what`` names the value as the subject of a sentence, already translated (``_("The reset hour")``).
    """
    allowed = (
        _("{what} must be a whole number from {minimum} to {maximum}")
        if integer
        else _("{what} must be a number from {minimum} to {maximum}")
    ).format(what=what, minimum=_fmt(minimum), maximum=_fmt(maximum))
    cleaned = str(text).strip().lstrip("$").strip()
    # float() accepts "1_000", "١٢" and surrounding whitespace; admins typing those meant something else.
    if not cleaned or not cleaned.isascii() or "_" in cleaned or not cleaned.isprintable():
        raise InvalidValue(_("{allowed}; `{text}` isn't one.").format(allowed=allowed, text=_shown(text)))
    try:
        value = float(cleaned)
    except ValueError:
        raise InvalidValue(
            _("{allowed}; `{text}` isn't one.").format(allowed=allowed, text=_shown(text))
        ) from None
    if not math.isfinite(value):
        raise InvalidValue(_("{allowed}, not infinity or NaN.").format(allowed=allowed))
    if integer and value != int(value):
        raise InvalidValue(_("{allowed}, without decimals.").format(allowed=allowed))
    if not minimum <= value <= maximum:
        raise InvalidValue(
            _("{allowed}; {value} is out of range.").format(allowed=allowed, value=_fmt(value))
        )
    return int(value) if integer else value


def _fmt(value: float) -> str:
    return number(int(value)) if value == int(value) else f"{value:,}"


def _shown(text: str) -> str:
    shown = "".join(ch if ch.isprintable() and ch.isascii() else "?" for ch in str(text))
    return shown[:40].replace("`", "'")
