"""Run a REAL Red bot over dpytest's simulated Discord, offline.

``RedHarness`` builds a genuine :class:`redbot.core.bot.Red` (real Config on the JSON driver in a
folder you choose, or on Red's PostgreSQL driver with ``storage_type="Postgres"``; Red's Core cog
with ``[p]set api``, ``[p]load``, ``[p]slash`` ..., Red's
error handler and global checks) and connects it to dpytest's in-process fake of Discord instead of
the network. On top of dpytest it adds what dpytest lacks:

* every send / edit / delete / typing of the bot is recorded as a :class:`BotEvent` (with the
  ``allowed_mentions`` payload actually sent) and pushed to ``listeners`` as it happens;
* slash commands and autocomplete run through Red's real ``CommandTree`` with real interaction
  payloads; a small fake of Discord's interaction and webhook endpoints answers defer / initial
  response / followup / edit-original / autocomplete, so hybrid commands run as slash commands;
* errors that reach Red's error handlers are kept (``errors``, ``last_error``);
* ``settle()`` waits for work a cog started in background tasks;
* ``fail_next()`` makes the bot's next channel send or edit fail as Discord would (404, 403, 429).

It does not depend on pytest: the test suite and the interactive offline console both use it.

Only one harness can be started at a time in a process (dpytest's backend is a module global).
Creating one after another (same event loop or a new one) is supported: ``close()`` resets the
process-wide caches of Red, its JSON driver and dpytest. See ``RedHarness`` for the pytest notes.

Verified against Red-DiscordBot 3.5.24, discord.py 2.7.1, dpytest 0.7.0.
"""

from .bot import RedHarness
from .events import BotEvent, BotMessage, HarnessIds
from .shared import reset_shared_state

__all__ = ["BotEvent", "BotMessage", "HarnessIds", "RedHarness", "reset_shared_state"]
