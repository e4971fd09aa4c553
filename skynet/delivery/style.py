"""One look for every error the cog shows: one marker, the message saying what to do."""

from __future__ import annotations

ERROR_MARKER = "⚠️"


def error_text(message: str, prefix: str) -> str:
    """``message`` as users see it: the marker first and ``[p]`` replaced by the command prefix."""
    return f"{ERROR_MARKER} {message.replace('[p]', prefix)}"
