"""Rate limits discord.py handled by itself, fed back into the pacer.

discord.py reads Discord's ``X-RateLimit-*`` headers and, on a 429, sleeps inside the request and
retries without raising; it only logs a warning (``discord.http``). This handler turns those
warnings into ``Pacer.rate_limited`` calls, so the whole bot slows down for that channel (or
globally) instead of sending more requests into the same limit. 429s that do surface as
exceptions are handled by the streamer itself.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Optional

from .pacing import Pacer

_CHANNEL_RE = re.compile(r"/channels/(\d+)")
_RETRYING = "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds."
_GLOBAL = "Global rate limit has been hit. Retrying in %.2f seconds."
DISCORD_HTTP_LOGGER = "discord.http"


class RateLimitFeedback(logging.Handler):
    """A logging handler on ``discord.http`` that reports 429s to the pacer ``pacer()`` returns."""

    def __init__(self, pacer: Callable[[], Pacer]) -> None:
        super().__init__(level=logging.WARNING)
        self._pacer = pacer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.msg == _RETRYING and len(record.args or ()) == 3:
                _method, url, retry_after = record.args  # type: ignore[misc]
                match = _CHANNEL_RE.search(str(url))
                channel: Optional[int] = int(match.group(1)) if match else None
                self._pacer().rate_limited(channel, float(retry_after), is_global=channel is None)
            elif record.msg == _GLOBAL and len(record.args or ()) == 1:
                self._pacer().rate_limited(None, float(record.args[0]), is_global=True)  # type: ignore[index]
        except Exception:  # a log handler must never break the request that logged
            pass

    def install(self) -> None:
        logging.getLogger(DISCORD_HTTP_LOGGER).addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger(DISCORD_HTTP_LOGGER).removeHandler(self)
