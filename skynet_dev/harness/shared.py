"""The fakes under the harness: Discord's HTTP answers, interaction and webhook endpoints, and the
process-wide state of Red, its JSON driver and dpytest that each harness resets."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional

import discord
from discord.ext.test import backend as dpy_backend
from discord.ext.test import callbacks as dpy_callbacks
from discord.ext.test import runner as dpy_runner
from discord.webhook.async_ import AsyncWebhookAdapter
from redbot.core import bank, modlog
from redbot.core import config as red_config
from redbot.core._drivers import json as red_json_driver

from .events import BotEvent

if TYPE_CHECKING:
    from .bot import RedHarness



_EPHEMERAL = 1 << 6
_LOADING = 1 << 7
_CALLBACK_MESSAGE = 4  # CHANNEL_MESSAGE_WITH_SOURCE
_CALLBACK_DEFER = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("is thinking...")
_CALLBACK_AUTOCOMPLETE = 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
_OPTION_SUBCOMMAND = 1
_OPTION_SUBCOMMAND_GROUP = 2
_PLAIN_OPTION_TYPES = (
    discord.AppCommandOptionType.string,
    discord.AppCommandOptionType.integer,
    discord.AppCommandOptionType.number,
    discord.AppCommandOptionType.boolean,
)


class _FakeResponse:
    """Enough of an aiohttp response for discord.HTTPException's constructor."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


def _http_error(cls: type, status: int, code: int, message: str) -> discord.HTTPException:
    return cls(_FakeResponse(status, message), {"code": code, "message": message})


class _FaultResponse(_FakeResponse):
    """A scripted failure's response, with the headers Discord sends with a 429."""

    def __init__(self, status: int, reason: str, retry_after: float) -> None:
        super().__init__(status, reason)
        self.headers = (
            {"Retry-After": f"{retry_after:g}", "X-RateLimit-Scope": "user"} if status == 429 else {}
        )


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _json_payload(payload: Optional[dict], multipart: Optional[list]) -> dict:
    """The JSON body of a request; with files discord.py moves it into a ``payload_json`` part."""
    if payload is not None:
        return copy.deepcopy(payload)
    for part in multipart or []:
        if part.get("name") == "payload_json":
            return json.loads(part["value"])
    return {}


# --------------------------------------------------------------------------------------------
# Process-wide state of Red, its JSON driver and dpytest
# --------------------------------------------------------------------------------------------

_active: Optional["RedHarness"] = None  # the started harness; the webhook fake answers for it
_real_webhook_request = AsyncWebhookAdapter.request


def reset_shared_state() -> None:
    """Forget every process-wide cache that would leak one bot's data into the next.

    Called by ``start()`` and ``close()``; callable by test setup code when no harness runs.
    """
    if _active is not None:
        raise RuntimeError("reset_shared_state() would break the running RedHarness")
    # Red's JSON driver keeps each cog's whole data in a module dict keyed by *cog name* (not by
    # folder), so a second bot would read the first one's data ("Core" tokens, etc.). Old drivers
    # still alive also carry weakref finalizers that decrement the per-name driver count and
    # delete the shared entry when it reaches 0 -- for a new bot that would wipe its live data at
    # some random garbage collection. Detach them before clearing.
    for finalizer in list(red_json_driver._finalizers):
        finalizer.detach()
    red_json_driver._finalizers.clear()
    red_json_driver._shared_datastore.clear()
    red_json_driver._driver_counts.clear()
    # The per-cog asyncio.Locks bind to the event loop that first waits on them.
    red_json_driver._locks.clear()
    # Config objects are singletons per (cog name, identifier), holding the driver (and so the
    # data folder) they were created with.
    red_config._config_cache.clear()
    # Module-level caches of Red's bank and modlog (re-initialised by every Red start).
    bank._cache_is_global = None
    bank._cache = {"bank_name": None, "currency": None, "default_balance": None, "max_balance": None}
    bank._data_deletion_lock = asyncio.Lock()
    modlog._data_deletion_lock = asyncio.Lock()
    # dpytest keeps its backend, runner config, callbacks and queues in module globals.
    dpy_backend._cur_config = None
    dpy_runner._cur_config = None
    dpy_callbacks._callbacks.clear()
    for queue in (dpy_runner.sent_queue, dpy_runner.error_queue):
        while not queue.empty():
            queue.get_nowait()


async def _fake_webhook_request(
    adapter: AsyncWebhookAdapter, route: Any, session: Any = None, **kwargs: Any
) -> Any:
    """Replacement for ``AsyncWebhookAdapter.request`` while a harness runs.

    discord.py sends every interaction response and followup through this adapter with its own
    aiohttp session, bypassing the bot's HTTPClient that dpytest replaces. Patching the class
    (not the ``async_context`` ContextVar) also covers tasks the cog created before or outside
    the interaction (e.g. a worker that edits a followup later).
    """
    if _active is None:
        raise RuntimeError(f"No RedHarness running to answer {route.method} {route.path}")
    return await _active._webhook_request(route, **kwargs)


def _fill_reaction_payloads(state: Any) -> None:
    """dpytest 0.7's reaction payloads lack the ``type`` and ``burst`` fields discord.py 2.4+
    reads (KeyError: 'type'), so reactions (Red's menus) crashed: fill them in."""
    for name in ("parse_message_reaction_add", "parse_message_reaction_remove"):
        parse = getattr(state, name)

        def filled(data: dict, _parse: Callable[[dict], None] = parse) -> None:
            _parse({"type": 0, "burst": False, **data})

        setattr(state, name, filled)


def _file_bytes(file: discord.File) -> bytes:
    """The content of a file the bot sends, leaving its stream where it was."""
    fp = file.fp
    position = fp.tell() if fp.seekable() else None
    if position is not None:
        fp.seek(0)
    data = fp.read()
    if position is not None:
        fp.seek(position)
    return data


class _HarnessHttp(dpy_backend.FakeHttp):
    """dpytest's fake HTTP client, plus recording and the routes dpytest lacks.

    Installed by swapping the class of the FakeHttp instance dpytest's backend creates.
    """

    harness: "RedHarness"

    async def send_message(self, channel_id: int, *, params: Any) -> dict:
        self.harness._raise_scripted_fault("send")
        body = _json_payload(params.payload, params.multipart)
        return await self.harness.limits.request(
            "send", channel_id, lambda: self._send_message(channel_id, params=params), body
        )

    async def _send_message(self, channel_id: int, *, params: Any) -> dict:
        # dpytest's FakeHttp.send_message does not receive the channel object: it reads the local
        # variable named ``channel`` in its caller's frame (normally Messageable.send). We are now
        # its caller, so we hold a local of that name.
        channel = dpy_backend._get_higher_locs(3).get("channel")  # noqa: F841
        if channel is None:
            channel = self.state.get_channel(channel_id)  # noqa: F841
        files = [(file.filename, _file_bytes(file)) for file in params.files or ()]
        data = await super().send_message(channel_id, params=params)
        if files:
            self.harness.sent_files[int(data["id"])] = files
        stored = self.harness._stored_message(channel_id, int(data["id"]))
        sent = _json_payload(params.payload, params.multipart)
        self.harness._on_send(channel_id, stored, sent, via="channel")
        return data

    async def edit_message(self, channel_id: int, message_id: int, **fields: Any) -> dict:
        self.harness._raise_scripted_fault("edit")
        # Re-implemented rather than delegated: dpytest rebuilds the stored message from the
        # (possibly stale) Message object found in the caller's frame, which breaks for
        # PartialMessage and loses fields. We merge the edit into the stored payload instead.
        params = fields["params"]
        sent = _json_payload(params.payload, params.multipart)

        async def edit() -> dict:
            return self.harness._edit_message(channel_id, message_id, sent)

        return await self.harness.limits.request("edit", channel_id, edit, sent)

    async def delete_message(self, channel_id: int, message_id: int, *, reason: Optional[str] = None) -> None:
        self.harness._delete_message(channel_id, message_id)

    async def add_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        # dpytest's version reads the message (``self``) and the reacting user (``member``) from its
        # caller's frame, which would now be this method: do the same from here.
        locs = dpy_backend._get_higher_locs(1)
        message, user = locs.get("self"), locs.get("member", self.state.user)
        await dpy_callbacks.dispatch_event("add_reaction", message, emoji)
        dpy_backend.add_reaction(message, user, emoji)
        self.harness._record(BotEvent("reaction", channel_id, message_id, emoji, None, time.monotonic()))

    async def channel_webhooks(self, channel_id: int) -> List[dict]:
        return self.harness._list_webhooks(channel_id)

    async def create_webhook(
        self, channel_id: int, *, name: str, avatar: Optional[bytes] = None, reason: Optional[str] = None
    ) -> dict:
        return self.harness._new_webhook(channel_id, name)

    async def send_typing(self, channel_id: int) -> None:
        async def typing() -> None:
            self.harness._record(BotEvent("typing", channel_id, None, None, None, time.monotonic()))

        await self.harness.limits.request("typing", channel_id, typing)

    async def bulk_upsert_global_commands(self, application_id: int, payload: List[dict]) -> List[dict]:
        # ``tree.sync()``: answer like Discord without any network.
        return [self.harness._synced_command(application_id, command) for command in payload]

    async def bulk_upsert_guild_commands(
        self, application_id: int, guild_id: int, payload: List[dict]
    ) -> List[dict]:
        synced = [self.harness._synced_command(application_id, command) for command in payload]
        return [dict(command, guild_id=str(guild_id)) for command in synced]


@dataclass
class _Interaction:
    """What the fake Discord remembers about one interaction it sent to the bot."""

    id: int
    token: str
    type: int
    channel_id: int
    created: float  # time.monotonic()
    response_type: Optional[int] = None
    original_id: Optional[int] = None  # the original response message (or "thinking" placeholder)
    autocomplete_choices: Optional[List[dict]] = None


BACKGROUND_TASK_PREFIX = "background:"


def _is_long_lived(task: asyncio.Task) -> bool:
    """Tasks ``settle()`` never waits for: discord.ext.tasks loops, and tasks a cog named
    ``background:<what>`` (skynet's periodic usage flush) because they never finish."""
    name = task.get_name()
    return name.startswith("discord-ext-tasks") or name.startswith(BACKGROUND_TASK_PREFIX)




def _install_webhook_fake() -> None:
    AsyncWebhookAdapter.request = _fake_webhook_request  # type: ignore[method-assign]


def _remove_webhook_fake() -> None:
    AsyncWebhookAdapter.request = _real_webhook_request  # type: ignore[method-assign]
