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

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Set, Tuple, Union

import discord
from discord import app_commands
from discord.ext.test import backend as dpy_backend
from discord.ext.test import callbacks as dpy_callbacks
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner
from discord.webhook.async_ import AsyncWebhookAdapter
from redbot.core import bank, data_manager, modlog
from redbot.core import config as red_config
from redbot.core._cli import parse_cli_flags
from redbot.core._drivers import get_driver_class
from redbot.core._drivers import json as red_json_driver
from redbot.core.bot import Red

from .discord_limits import DiscordLimits

__all__ = ["BotEvent", "BotMessage", "HarnessIds", "RedHarness", "reset_shared_state"]

log = logging.getLogger("skynet_dev.harness")

EventKind = Literal[
    "send",  # a message of the bot appeared (channel send, interaction response, followup)
    "edit",  # the bot edited a message
    "delete",  # the bot deleted a message (its own or someone else's)
    "typing",  # the bot triggered the typing indicator (prefix ``ctx.typing()``)
    "defer",  # an interaction acknowledged with "Bot is thinking..." (ctx.defer(), ctx.typing())
    "autocomplete",  # the bot answered an autocomplete request; choices in ``payload["choices"]``
    "interaction_response",  # any other interaction callback (modal, component update...), raw payload
    "reaction",  # the bot added a reaction to a message; the emoji in ``content``
]
Via = Literal["channel", "interaction", "followup", "webhook"]  # webhook: a channel webhook


@dataclass
class BotEvent:
    """Something the bot did in Discord, observed at dpytest's backend.

    ``content`` is the message's content *after* this action (for ``send``/``edit``), else None.
    ``allowed_mentions`` is the ``allowed_mentions`` object the bot sent with this request (None when
    the request carried none, which on Discord means "parse every mention in the content").
    ``payload`` is the JSON body the bot sent; for an interaction callback its ``data`` part
    (``defer``/``autocomplete``/``interaction_response`` add the callback type as
    ``"callback_type"``). ``via``: how it was sent (channel endpoint, interaction response
    endpoints, or followup webhook).
    """

    kind: EventKind
    channel_id: int
    message_id: Optional[int]
    content: Optional[str]
    allowed_mentions: Optional[dict]
    at: float  # time.monotonic() when observed
    payload: dict = field(default_factory=dict)
    via: Via = "channel"
    ephemeral: bool = False
    interaction_id: Optional[int] = None

    @property
    def may_ping(self) -> bool:
        """Conservative: False only if ``allowed_mentions`` forbids every kind of ping.

        Only meaningful for ``send`` (Discord never notifies for mentions added by an edit).
        """
        am = self.allowed_mentions
        if am is None:
            return True  # Discord's default when the field is absent: parse everything
        return bool(am.get("parse") or am.get("users") or am.get("roles") or am.get("replied_user"))


@dataclass
class BotMessage:
    """The current state of one message the bot created (after all edits)."""

    id: int
    channel_id: int
    content: str
    embeds: List[dict]
    via: Via = "channel"
    ephemeral: bool = False
    loading: bool = False  # a deferred interaction still showing "Bot is thinking..."
    deleted: bool = False
    edits: int = 0
    interaction_id: Optional[int] = None


@dataclass(frozen=True)
class HarnessIds:
    """Fixed snowflakes for the simulated world.

    They are stable across runs so that per-guild / per-user Config data kept in a persistent
    data folder (the console) still applies next time. Values only need to be valid snowflakes.
    """

    guild: int = 1100000000000000100
    channel: int = 1100000000000000200
    admin_role: int = 1100000000000000300
    owner: int = 1100000000000000401
    admin: int = 1100000000000000402
    member: int = 1100000000000000403


# Discord constants used by the fake interaction endpoints.
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


class RedHarness:
    """A real Red bot in a simulated guild. Use ``await start()`` ... ``await close()``.

    World after ``start()``: guild "Test Guild" with text channel "general"; members ``owner``
    (bot owner, also owns the guild), ``admin`` (role "Admin" with the administrator permission,
    also registered as Red's admin role for the guild) and ``member`` (no roles).

    pytest notes:

    * Red registers ``redbot.pytest`` as a pytest plugin (entry point ``pytest11``). Its autouse
      fixture ``override_data_path`` points ``data_manager.basic_config`` at a per-test tmpdir
      *without* a storage type, and mutates ``data_manager.basic_config_default`` in place. It does
      not break a function-scoped harness (that fixture runs first, ``start()`` overrides it), but it
      breaks a harness that outlives one test: later Config objects and ``cog_data_path()`` then
      silently use that tmpdir. Override it in ``tests/conftest.py`` with a no-op fixture of the
      same name.
    * Because of that plugin registration pytest also marks the whole ``redbot`` package for
      assertion rewriting, so under pytest ``[p]load`` of Red's *bundled* cogs (``!load alias``)
      fails in Red's ``spec.loader.load_module()`` (TypeError: missing 'fullname'). Cogs found in
      a cog path (``cog_paths``, e.g. skynet) load fine; so does everything outside pytest.
    * pytest-asyncio gives each test function a new event loop by default: build the harness in
      a function-scoped async fixture and ``await close()`` in its teardown.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        prefix: str = "!",
        cog_paths: Sequence[Path] = (),
        cli_args: Sequence[str] = (),
        raise_errors: bool = False,
        interaction_ack_timeout: Optional[float] = 3.0,
        ids: HarnessIds = HarnessIds(),
        background: Optional[Callable[[asyncio.Task], bool]] = None,
        storage_type: str = "JSON",
        storage_details: Optional[Dict[str, Any]] = None,
        limits: Optional[DiscordLimits] = None,
        bot_name: Optional[str] = None,
    ) -> None:
        """
        :param data_dir: Red's data folder (JSON driver); created if missing, reused if present.
        :param prefix: stored as the global prefix in Config at every start.
        :param cog_paths: extra cog folders (like ``redbot --cog-path``), so ``!load name`` works.
        :param cli_args: extra ``redbot`` command line flags (e.g. ``["--dev"]``).
        :param raise_errors: default for ``say``/``slash``/``settle``: raise the first command
            error produced during the call (else errors are only kept in ``errors``).
        :param interaction_ack_timeout: like Discord, refuse (404 Unknown interaction) an initial
            interaction response that comes later than this many seconds; None disables it.
        :param background: tasks ``settle()`` never waits for, besides its defaults (e.g. the
            connection handlers of a local server the test runs in the same event loop).
        :param storage_type: Red's Config backend, ``"JSON"`` (files in ``data_dir``) or
            ``"Postgres"`` (Red's PostgreSQL driver; needs ``asyncpg``). ``data_dir`` is still
            Red's data folder (cog data paths) with either.
        :param storage_details: the driver's connection details, as ``redbot-setup`` stores them
            (Postgres: ``host``, ``port``, ``user``, ``password``, ``database``).
        :param limits: what the fake Discord enforces (message size, embeds, rate limits);
            default: everything, as Discord does (see ``skynet_dev.discord_limits``).
        :param bot_name: the bot's user name, with no server nickname; default: dpytest's
            ``FakeApp``, nicknamed ``FakeApp_nick`` in the guild.
        """
        self.limits = limits or DiscordLimits()
        self.data_dir = Path(data_dir)
        self.prefix = prefix
        self.cog_paths = [Path(p) for p in cog_paths]
        self.cli_args = list(cli_args)
        self.raise_errors = raise_errors
        self.interaction_ack_timeout = interaction_ack_timeout
        self.ids = ids
        self.background = background
        self.storage_type = storage_type
        self.storage_details = dict(storage_details or {})
        self.bot_name = bot_name
        self._driver_initialized = False

        self.events: List[BotEvent] = []
        self.listeners: List[Callable[[BotEvent], None]] = []
        self.errors: List[BaseException] = []
        self.sent_files: Dict[int, List[Tuple[str, bytes]]] = {}  # message id -> (name, content)

        self.bot: Red
        self.guild: discord.Guild
        self.channel: discord.TextChannel
        self.owner: discord.Member
        self.admin: discord.Member
        self.member: discord.Member
        self.admin_role: discord.Role

        self._messages: Dict[int, BotMessage] = {}  # bot messages by id, in creation order
        self._message_data: Dict[int, dict] = {}  # raw payloads of messages (also dpytest's store)
        self._interactions: Dict[str, _Interaction] = {}  # by token
        self.channel_webhooks: Dict[str, dict] = {}  # channel webhooks the bot created, by token
        self.deny_webhooks = False  # create_webhook answers 403 (the bot lacks Manage Webhooks)
        # Every channel-webhook request: (method, webhook's channel id, thread_id query param or None).
        self.webhook_requests: List[Tuple[str, int, Optional[int]]] = []
        self._command_ids: Dict[str, int] = {}
        self._preexisting_tasks: Set[asyncio.Task] = set()  # before start(): never cancelled by close()
        self._baseline_tasks: Set[asyncio.Task] = set()  # after start(): never waited for by settle()
        self._event_waiters: List[Tuple[Callable[[BotEvent], bool], asyncio.Future]] = []
        self._mark = 0  # index in ``events`` where the latest say/slash started
        self._scripted_faults: List[Tuple[str, int, float]] = []  # see fail_next()
        self._started = False
        self._saved_data_manager: Tuple[Any, Any] = (None, None)
        self._stashed_modules: Dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------
    # lifecycle
    # ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Build Red, connect it to dpytest's fake Discord, load Core, mark the bot ready."""
        global _active
        if _active is not None:
            raise RuntimeError("Another RedHarness is running in this process; close() it first")
        reset_shared_state()
        _active = self
        _install_webhook_fake()
        self._preexisting_tasks = set(asyncio.all_tasks())
        self._stashed_modules = self._take_cog_modules()
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise
        self._started = True

    async def _start(self) -> None:
        # Red's data manager must point at our folder before any Config object exists. Set
        # ``_instance_name``: ``data_manager.instance_name`` is a function, do not overwrite it.
        self._saved_data_manager = (data_manager.basic_config, data_manager._instance_name)
        data_manager.basic_config = {
            "DATA_PATH": str(self.data_dir.resolve()),
            "COG_PATH_APPEND": "cogs",
            "CORE_PATH_APPEND": "core",
            "STORAGE_TYPE": self.storage_type,
            "STORAGE_DETAILS": self.storage_details,
        }
        data_manager._instance_name = "harness"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # redbot's launcher (run_bot) creates this; Red._pre_connect lists it on first start.
        (data_manager.cog_data_path(raw_name="Downloader") / "lib").mkdir(parents=True, exist_ok=True)
        await get_driver_class().initialize(**data_manager.storage_details())
        self._driver_initialized = True

        flags = ["harness", "--no-prompt"]
        if self.cog_paths:
            flags += ["--cog-path", *(str(p.resolve()) for p in self.cog_paths)]
        bot = Red(cli_flags=parse_cli_flags(flags + self.cli_args), description="Red V3", dm_help=None)
        self.bot = bot
        await bot._config.prefix.set([self.prefix])

        # What Red.start() does before login, minus the network: loop-bound objects, then RPC
        # app, global checks, Red's event handlers (on_message, on_command_error, ...).
        await bot._async_setup_hook()
        await bot._pre_login()

        # dpytest's backend (fake HTTP, websocket and ConnectionState). We call the backend
        # directly: ``dpytest.configure`` refuses AutoShardedClient (Red is one) and wraps
        # on_command_error with a (ctx, error) signature Red's core cannot call
        # (it passes ``unhandled_by_cog=``).
        red_state = bot._connection
        dpy_backend.configure(bot)
        bot.http.__class__ = _HarnessHttp
        bot.http.harness = self
        state = bot._connection
        # dpytest builds its ConnectionState without the client's options. The bot-wide default
        # allowed_mentions (Red: no @everyone, no roles) is merged into every message payload by
        # discord.py; without it the recorded allowed_mentions would not be what Discord gets.
        state.allowed_mentions = red_state.allowed_mentions
        state._translator = red_state._translator
        # The new ConnectionState has no loop (discord.py sets it in _async_setup_hook, on the
        # state dpytest just replaced): ``ctx.typing()`` would crash.
        state.loop = bot.loop
        # The command tree registered itself on the replaced state; re-attach it or interactions
        # are never routed to it (state._command_tree is None).
        state._command_tree = bot.tree
        bot.tree._state = state
        bot.tree._http = bot.http
        # No READY payload, so no application id: needed by tree.sync() and interactions.
        state.application_id = state.user.id
        # Keep dpytest's own helpers (dpytest.get_message / verify) working.
        dpy_callbacks.set_callback(dpy_runner._message_callback, "send_message")
        _fill_reaction_payloads(state)

        self._build_world()

        # What Red.setup_hook() does after login: Core, CogManagerUI, modlog, bank, saved cogs.
        # Owners come from application info there; offline we add ours by hand.
        bot.owner_ids.add(self.owner.id)
        await bot._pre_connect()
        await bot._config.guild(self.guild).admin_role.set([self.admin_role.id])

        # What on_ready does: Red ignores commands until _red_ready is set; cogs may wait on
        # wait_until_ready(); some core commands read the uptime.
        bot._uptime = datetime.datetime.utcnow()
        bot._ready.set()
        bot._red_ready.set()

        self._wrap_error_handlers()
        await dpy_runner.run_all_events()
        self._baseline_tasks = set(asyncio.all_tasks())

    def _build_world(self) -> None:
        ids = self.ids
        state = dpy_backend.get_state()
        # Like dpytest.configure: do not dispatch join/create events while building.
        state.stop_dispatch()
        try:
            guild = dpy_backend.make_guild("Test Guild", id_num=ids.guild)
            channel = dpy_backend.make_text_channel("general", guild, id_num=ids.channel)
            administrator = discord.Permissions(administrator=True).value
            admin_role = dpy_backend.make_role(
                "Admin", guild, id_num=ids.admin_role, permissions=administrator
            )

            def member(name: str, user_id: int, roles: Sequence[discord.Role] = ()) -> discord.Member:
                user = dpy_backend.make_user(name, "0001", id_num=user_id)
                return dpy_backend.make_member(user, guild, roles=list(roles))

            self.owner = member("owner", ids.owner)
            self.admin = member("admin", ids.admin, [admin_role])
            self.member = member("member", ids.member)
            if self.bot_name:
                state.user.name = self.bot_name
            nick = None if self.bot_name else f"{state.user.name}_nick"
            dpy_backend.make_member(state.user, guild, nick=nick)
            guild.owner_id = self.owner.id
        finally:
            state.start_dispatch()
        self.guild, self.channel, self.admin_role = guild, channel, admin_role
        # dpytest's logs_from (channel.history) fails on a channel with no stored message yet.
        dpy_backend._cur_config.messages.setdefault(channel.id, [])
        # dpytest.message(..., member=0) and friends index these lists.
        dpy_runner._cur_config = dpy_runner.RunnerConfig(
            self.bot, [guild], [channel], [self.owner, self.admin, self.member]
        )

    def _wrap_error_handlers(self) -> None:
        bot = self.bot
        red_on_command_error = bot.on_command_error

        async def on_command_error(ctx: Any, error: BaseException, unhandled_by_cog: bool = False) -> None:
            # An error the cog's own handler answered is not a test failure; one it passes on
            # (``unhandled_by_cog=True``) is.
            handled = not unhandled_by_cog and ctx.cog is not None and ctx.cog.has_error_handler()
            if not handled:
                self._record_error(error)
            await red_on_command_error(ctx, error, unhandled_by_cog=unhandled_by_cog)

        bot.on_command_error = on_command_error  # type: ignore[method-assign]

        tree_on_error = bot.tree.on_error

        async def tree_error(interaction: discord.Interaction, error: BaseException, /) -> None:
            self._record_error(error)
            await tree_on_error(interaction, error)

        bot.tree.on_error = tree_error  # type: ignore[method-assign]

        client_on_error = bot.on_error

        async def on_error(event_method: str, /, *args: Any, **kwargs: Any) -> None:
            # Exceptions in event listeners (e.g. a cog's on_message_without_command).
            exc = sys.exc_info()[1]
            if exc is not None:
                self._record_error(exc)
            await client_on_error(event_method, *args, **kwargs)

        bot.on_error = on_error  # type: ignore[method-assign]

    async def close(self) -> None:
        """Stop the bot and reset process-wide state so a new harness starts fresh.

        Tasks the bot left running are cancelled. Does nothing if this harness is not running.
        """
        global _active
        if _active is not self:
            return
        try:
            bot = getattr(self, "bot", None)
            if bot is not None:
                # AutoShardedClient.close() posts to a queue only created by connect().
                if not hasattr(bot, "_AutoShardedClient__queue"):
                    bot._AutoShardedClient__queue = asyncio.PriorityQueue()
                try:
                    await bot.close()  # unloads extensions, removes cogs (cog_unload hooks)
                except Exception:
                    if self._started:  # after a failed start() this is expected noise
                        log.exception("Error while closing the bot")
            await self._cancel_leftover_tasks()
            if self._driver_initialized and self.storage_type != "JSON":
                # Red.close() tears the driver down too, unless start() failed before the bot
                # existed: a database pool left open would outlive this event loop.
                await get_driver_class().teardown()
        finally:
            self._started = False
            _active = None
            _remove_webhook_fake()
            basic_config, instance_name = self._saved_data_manager
            data_manager.basic_config = basic_config
            data_manager._instance_name = instance_name
            for _, future in self._event_waiters:
                future.cancel()
            self._event_waiters.clear()
            reset_shared_state()
            self._take_cog_modules()  # the bot's own import of its cogs
            sys.modules.update(self._stashed_modules)

    def _take_cog_modules(self) -> Dict[str, Any]:
        """Remove (and return) the imported modules of cog packages found in ``cog_paths``.

        Red's ``[p]load`` re-executes an already imported cog's modules in place, which would
        swap the classes under the feet of code that imported them (tests importing the engine).
        The bot gets its own import instead, and the process's is put back by ``close()``.
        """
        cogs = {
            p.name
            for root in self.cog_paths
            if root.is_dir()
            for p in root.iterdir()
            if (p / "info.json").is_file()
        }
        taken = {n: m for n, m in sys.modules.items() if n.split(".")[0] in cogs}
        for name in taken:
            del sys.modules[name]
        return taken

    async def _cancel_leftover_tasks(self) -> None:
        current = asyncio.current_task()
        leftovers = [
            t
            for t in asyncio.all_tasks()
            if t is not current and t not in self._preexisting_tasks and not t.done()
        ]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=5)

    async def __aenter__(self) -> "RedHarness":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # ----------------------------------------------------------------------------------------
    # acting as users
    # ----------------------------------------------------------------------------------------

    async def say(
        self,
        content: str,
        *,
        author: Optional[discord.Member] = None,
        channel: Optional[discord.abc.Messageable] = None,
        wait: bool = True,
        raise_errors: Optional[bool] = None,
        attachments: Sequence[Path] = (),
    ) -> discord.Message:
        """``author`` (default: ``member``) sends ``content`` in ``channel`` (default: ``channel``).

        ``attachments``: files attached to the message (``Attachment.read()`` returns their bytes).

        With ``wait`` (default) it returns once every event dpytest dispatched finished (its
        ``run_all_events``): Red's on_message ran, so a prefix command ran to completion,
        including streaming it does inside the command. Work the cog starts with
        ``asyncio.create_task`` is NOT awaited: use ``settle()`` or ``wait_for()``.

        Use ``wait=False`` when the command waits for another message (``bot.wait_for``, a
        confirmation prompt): waiting would deadlock, since that reply cannot be sent until
        ``say`` returns. The console should always use ``wait=False`` and show ``listeners``.
        """
        self._mark = len(self.events)
        errors_before = len(self.errors)
        files = [dpy_backend.make_attachment(Path(path)) for path in attachments] or None
        message = dpy_backend.make_message(
            content, author or self.member, channel or self.channel, attachments=files
        )
        if wait:
            await dpy_runner.run_all_events()
            self._maybe_raise(errors_before, raise_errors)
        return message

    async def slash(
        self,
        qualified_name: str,
        *,
        author: Optional[discord.Member] = None,
        channel: Optional[discord.TextChannel] = None,
        wait: bool = True,
        raise_errors: Optional[bool] = None,
        options: Optional[Dict[str, Any]] = None,
        **more_options: Any,
    ) -> discord.Interaction:
        """Invoke an application command, e.g. ``slash("ai chat", message="hi")``.

        The command must be enabled and synced (``enable_slash``), as on Discord. Option values:
        str/int/float/bool, Member/User/Role/channel objects, or a ``Path`` for an attachment
        option (the member uploads that file); objects are sent with ``resolved`` data.
        Pass options whose names clash with this method's keywords (``channel``, ``author``...)
        in ``options={...}``. With ``wait`` it returns when the command's tree task and the
        dispatched events finished (not tasks it spawned: see ``settle``); ``wait=False`` as for
        ``say``.
        """
        command = self._app_command(qualified_name)
        self._mark = len(self.events)
        errors_before = len(self.errors)
        channel = channel or self.channel
        data = self._command_data(command, {**(options or {}), **more_options}, None, channel)
        interaction = await self._send_interaction(2, data, author or self.member, channel, wait=wait)
        if wait:
            self._maybe_raise(errors_before, raise_errors)
        return interaction

    async def autocomplete(
        self,
        qualified_name: str,
        option: str,
        current: str,
        *,
        author: Optional[discord.Member] = None,
        channel: Optional[discord.TextChannel] = None,
        options: Optional[Dict[str, Any]] = None,
        **more_options: Any,
    ) -> List[dict]:
        """Run the autocomplete of ``option`` while the user has typed ``current``.

        Other options already filled in go in ``options={...}`` / keywords, as for ``slash``.

        Returns the choices the bot answered (``[{"name": ..., "value": ...}, ...]``). Raises
        RuntimeError if it did not answer (discord.py logs and swallows exceptions raised in
        autocomplete callbacks: "Ignoring exception in autocomplete").
        """
        command = self._app_command(qualified_name)
        channel = channel or self.channel
        filled = {**(options or {}), **more_options, option: current}
        data = self._command_data(command, filled, option, channel)
        interaction = await self._send_interaction(4, data, author or self.member, channel)
        record = self._interactions[interaction.token]
        if record.autocomplete_choices is None:
            raise RuntimeError(f"The bot did not answer the autocomplete of {qualified_name!r} / {option!r}")
        return record.autocomplete_choices

    async def enable_slash(self, *names: str) -> None:
        """What ``[p]slash enable <name>`` for each name then ``[p]slash sync`` do (no network)."""
        tree = self.bot.tree
        for name in names:
            if name not in tree._disabled_global_commands and tree.get_command(name) is None:
                raise LookupError(f"No application command {name!r} is registered (is its cog loaded?)")
            await self.bot.enable_app_command(name)
        await tree.red_check_enabled()
        await tree.sync()

    # ----------------------------------------------------------------------------------------
    # waiting and observing
    # ----------------------------------------------------------------------------------------

    async def settle(
        self,
        timeout: float = 5.0,
        *,
        ignore: Optional[Callable[[asyncio.Task], bool]] = None,
        raise_errors: Optional[bool] = None,
    ) -> None:
        """Wait until no task the bot started since ``start()`` is pending.

        Covers background tasks a cog started with ``create_task`` (a streamed reply...), typing
        loops, ``delete_after`` timers, dpytest's event tasks. Never waits for tasks that existed
        when the harness started, for the caller's own task, for discord.ext.tasks loops, or for
        tasks matching ``ignore`` (use it for a cog's long-lived worker; then wait with
        ``wait_for``). Exceptions of the tasks it saw finish are added to ``errors``. Raises
        TimeoutError naming the pending tasks.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        errors_before = len(self.errors)
        quiet_rounds = 0
        while quiet_rounds < 2:  # a task that just finished may have scheduled another one
            pending = self._pending_tasks(ignore)
            if not pending:
                quiet_rounds += 1
                await asyncio.sleep(0)
                continue
            quiet_rounds = 0
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = ", ".join(sorted(f"{t.get_name()} ({t.get_coro()!r})" for t in pending))
                raise TimeoutError(f"settle(): still pending after {timeout}s: {names}")
            done, _ = await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    self._record_error(task.exception())
        self._maybe_raise(errors_before, raise_errors)

    def _pending_tasks(self, ignore: Optional[Callable[[asyncio.Task], bool]]) -> Set[asyncio.Task]:
        current = asyncio.current_task()
        return {
            t
            for t in asyncio.all_tasks()
            if not t.done()
            and t is not current
            and t not in self._baseline_tasks
            and not _is_long_lived(t)
            and not (ignore and ignore(t))
            and not (self.background and self.background(t))
        }

    async def wait_for(
        self, predicate: Callable[[BotEvent], bool], *, timeout: float = 5.0, since: Optional[int] = None
    ) -> BotEvent:
        """The first event matching ``predicate``, waiting up to ``timeout`` seconds for it.

        Looks at events from index ``since`` (default: where the latest say/slash started) then
        at new ones. Use it for replies produced by a long-lived worker ``settle`` ignores.
        """
        for event in self.events[self._mark if since is None else since :]:
            if predicate(event):
                return event
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._event_waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if waiter in self._event_waiters:
                self._event_waiters.remove(waiter)

    def make_thread(self, name: str, parent: Optional[discord.TextChannel] = None) -> discord.Thread:
        """A public thread in ``parent`` (default: ``channel``), as Discord's THREAD_CREATE would
        make it: a real ``discord.Thread`` registered in the guild, so messages sent in it (``say(...,
        channel=thread)``) are dispatched with ``message.channel`` the thread, ``bot.get_channel``
        finds it, and the bot's sends and edits in it are recorded under its id."""
        parent = parent or self.channel
        everyone = parent.guild.default_role
        if not everyone.permissions.send_messages_in_threads:
            # dpytest's @everyone predates thread permissions; Discord's default grants these, and
            # without them a thread's implicit permissions deny sending (so Red ignores commands).
            threads = discord.Permissions(send_messages_in_threads=True, create_public_threads=True)
            dpy_backend.update_role(everyone, permissions=everyone.permissions.value | threads.value)
        thread_id = dpy_factories.make_id()
        data = {
            "id": str(thread_id),
            "guild_id": str(parent.guild.id),
            "parent_id": str(parent.id),
            "owner_id": str(self.member.id),
            "name": name,
            "type": discord.ChannelType.public_thread.value,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": discord.utils.utcnow().isoformat(),
                "locked": False,
            },
        }
        thread = discord.Thread(guild=parent.guild, state=self.bot._connection, data=data)
        parent.guild._add_thread(thread)
        dpy_backend._cur_config.messages.setdefault(thread_id, [])  # dpytest's history store
        return thread

    def messages(self, channel: Union[None, int, discord.abc.Snowflake] = None) -> List[BotMessage]:
        """The bot's messages in ``channel`` (default: ``channel``), in order, as they are now.

        Deleted messages are left out; ephemeral ones are included (``ephemeral=True``), so is a
        deferred response still "thinking" (``loading=True``, empty content).
        """
        channel_id = self.channel.id if channel is None else getattr(channel, "id", channel)
        return [m for m in self._messages.values() if m.channel_id == channel_id and not m.deleted]

    @property
    def last_error(self) -> Optional[BaseException]:
        """The latest error that reached Red's command error handler, the tree's, or on_error."""
        return self.errors[-1] if self.errors else None

    def _record_error(self, error: BaseException) -> None:
        # A cog's own error handler may pass the same error on to Red's handler: keep it once.
        if not any(error is seen for seen in self.errors):
            self.errors.append(error)

    def _maybe_raise(self, errors_before: int, raise_errors: Optional[bool]) -> None:
        if raise_errors is None:
            raise_errors = self.raise_errors
        if raise_errors and len(self.errors) > errors_before:
            raise self.errors[errors_before]

    def _record(self, event: BotEvent) -> None:
        self.events.append(event)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken printer must not make the bot's request fail
                log.exception("BotEvent listener failed")
        for waiter in list(self._event_waiters):
            predicate, future = waiter
            if not future.done() and predicate(event):
                future.set_result(event)
                self._event_waiters.remove(waiter)

    # ----------------------------------------------------------------------------------------
    # scripted failures of channel sends / edits
    # ----------------------------------------------------------------------------------------

    def fail_next(self, kind: Literal["send", "edit"], status: int, *, retry_after: float = 1.0) -> None:
        """Make the bot's next channel ``kind`` request fail as Discord would: 404 (Unknown Message,
        e.g. deleted mid-stream), 403, or 429 (rate limited, with ``Retry-After``). Queued: call it
        several times for several failures. The failed request changes nothing."""
        self._scripted_faults.append((kind, status, retry_after))

    def _raise_scripted_fault(self, kind: str) -> None:
        for index, (fault_kind, status, retry_after) in enumerate(self._scripted_faults):
            if fault_kind == kind:
                del self._scripted_faults[index]
                cls = {404: discord.NotFound, 403: discord.Forbidden}.get(status, discord.HTTPException)
                code, message = {404: (10008, "Unknown Message"), 403: (50013, "Missing Permissions")}.get(
                    status, (0, "You are being rate limited." if status == 429 else "Error")
                )
                raise cls(_FaultResponse(status, message, retry_after), {"code": code, "message": message})

    # ----------------------------------------------------------------------------------------
    # the fake Discord: messages
    # ----------------------------------------------------------------------------------------

    def _stored_message(self, channel_id: int, message_id: int) -> dict:
        """dpytest's stored payload of a message (edits are merged into this very dict)."""
        for data in dpy_backend._cur_config.messages.get(channel_id, []):
            if int(data["id"]) == message_id:
                return data
        raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")

    def _on_send(
        self, channel_id: int, data: dict, sent: dict, *, via: Via, interaction_id: Optional[int] = None
    ) -> None:
        """Record that message ``data`` (the stored payload) appeared; ``sent``: the bot's body."""
        message_id = int(data["id"])
        self._message_data[message_id] = data
        content, embeds = data.get("content") or "", list(data.get("embeds") or [])
        ephemeral = bool(int(data.get("flags") or 0) & _EPHEMERAL)
        message = self._messages.get(message_id)
        if message is not None:  # a "thinking" placeholder gets its content
            message.content, message.embeds, message.loading = content, embeds, False
        else:
            self._messages[message_id] = BotMessage(
                message_id,
                channel_id,
                content,
                embeds,
                via=via,
                ephemeral=ephemeral,
                interaction_id=interaction_id,
            )
        self._record(
            BotEvent(
                "send",
                channel_id,
                message_id,
                content,
                sent.get("allowed_mentions"),
                time.monotonic(),
                sent,
                via=via,
                ephemeral=ephemeral,
                interaction_id=interaction_id,
            )
        )

    def _edit_message(
        self,
        channel_id: int,
        message_id: int,
        sent: dict,
        *,
        via: Via = "channel",
        webhook_id: Optional[int] = None,
    ) -> dict:
        """Edit a message as the bot, or as the channel webhook ``webhook_id`` (its own messages only)."""
        data = self._message_data.get(message_id) or self._stored_message(channel_id, message_id)
        if getattr(self._messages.get(message_id), "deleted", False):
            raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
        if webhook_id is not None:
            if int(data.get("webhook_id") or 0) != webhook_id:
                raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
        elif int(data["author"]["id"]) != self.bot.user.id:
            raise _http_error(discord.Forbidden, 403, 50005, "Cannot edit a message authored by another user")
        for key in ("content", "embeds", "components", "flags", "poll"):
            if key in sent:
                data[key] = sent[key]
        data["content"] = data.get("content") or ""
        data["edited_timestamp"] = _now_iso()
        message = self._messages.get(message_id)
        if message is not None:
            message.content, message.embeds = data["content"], list(data.get("embeds") or [])
            message.edits += 1
        self._record(
            BotEvent(
                "edit",
                int(data.get("channel_id", channel_id)),
                message_id,
                data["content"],
                sent.get("allowed_mentions"),
                time.monotonic(),
                sent,
                via=via,
                ephemeral=bool(message and message.ephemeral),
                interaction_id=message.interaction_id if message else None,
            )
        )
        return copy.deepcopy(data)

    def _delete_message(self, channel_id: int, message_id: int, *, via: Via = "channel") -> None:
        stored = dpy_backend._cur_config.messages.get(channel_id, [])
        index = next((i for i, d in enumerate(stored) if int(d["id"]) == message_id), None)
        record = self._messages.get(message_id)
        if index is None and record is None:
            raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
        if index is not None:
            del stored[index]
            channel = self.bot.get_channel(channel_id)
            payload = {"id": message_id, "channel_id": channel_id}
            if getattr(channel, "guild", None) is not None:
                payload["guild_id"] = channel.guild.id
            self.bot._connection.parse_message_delete(payload)
        if record is not None:
            record.deleted = True
        now = time.monotonic()
        self._record(BotEvent("delete", channel_id, message_id, None, None, now, {}, via=via))

    def _create_message(
        self, record: _Interaction, sent: dict, *, ephemeral: bool, loading: bool = False
    ) -> dict:
        """A message posted through an interaction (original response or followup)."""
        channel = self.bot.get_channel(record.channel_id)
        content = sent.get("content") or ""
        mentions = [m for m in dpy_backend.find_user_mentions(content, channel.guild) if m is not None]
        data = dpy_factories.make_message_dict(
            channel,
            self.bot.user,
            content=content,
            mentions=mentions,
            mention_roles=dpy_backend.find_role_mentions(content, channel.guild),
            guild_id=channel.guild.id,
            webhook_id=self.bot.application_id,
        )
        data["embeds"] = list(sent.get("embeds") or [])
        flags = int(sent.get("flags") or 0) & ~_EPHEMERAL
        data["flags"] = flags | (_EPHEMERAL if ephemeral else 0) | (_LOADING if loading else 0)
        data["application_id"] = self.bot.application_id
        if not ephemeral:  # ephemeral messages are not in the channel (nor sent to the gateway)
            dpy_backend._cur_config.messages.setdefault(channel.id, []).append(data)
            self.bot._connection.parse_message_create(copy.copy(data))
        self._message_data[int(data["id"])] = data
        return data

    # ----------------------------------------------------------------------------------------
    # the fake Discord: application commands and interactions
    # ----------------------------------------------------------------------------------------

    def _synced_command(self, application_id: int, command: dict) -> dict:
        command_id = self._command_ids.setdefault(command["name"], dpy_factories.make_id())
        return {**command, "id": str(command_id), "application_id": str(application_id), "version": "1"}

    def _app_command(self, qualified_name: str) -> app_commands.Command:
        root_name, *rest = qualified_name.split()
        command: Any = self.bot.tree.get_command(root_name)
        if command is None:
            hint = ""
            if root_name in self.bot.tree._disabled_global_commands:
                hint = f": it is not enabled, call enable_slash({root_name!r})"
            raise LookupError(f"No application command {root_name!r} in the tree{hint}")
        for part in rest:
            sub = command.get_command(part) if isinstance(command, app_commands.Group) else None
            if sub is None:
                raise LookupError(f"No application subcommand {part!r} in {command.qualified_name!r}")
            command = sub
        if isinstance(command, app_commands.Group):
            raise LookupError(f"{qualified_name!r} is a group: Discord only invokes its subcommands")
        return command

    def _command_data(
        self,
        command: app_commands.Command,
        options: Dict[str, Any],
        focused: Optional[str],
        channel: discord.TextChannel,
    ) -> dict:
        """The ``data`` of an application command interaction, with options nested under groups.

        Options given as None are left out (as Discord does for an optional option not filled).
        """
        options = {name: value for name, value in options.items() if value is not None}
        params = {}
        for param in command.parameters:
            params[param.name] = params[param.display_name] = param
        unknown = set(options) - set(params)
        if unknown:
            raise TypeError(f"{command.qualified_name!r} has no option(s) {sorted(unknown)}")
        if focused is None:
            given = {params[name].name for name in options}
            missing = [p.display_name for p in command.parameters if p.required and p.name not in given]
            if missing:
                raise TypeError(f"{command.qualified_name!r} needs option(s) {missing}")
        resolved: Dict[str, Dict[str, dict]] = {}
        leaf = [
            self._option(params[name], value, resolved, focused == name, channel)
            for name, value in options.items()
        ]

        node: Any = command
        while node.parent is not None:  # wrap in SUB_COMMAND, then SUB_COMMAND_GROUP(s)
            kind = _OPTION_SUBCOMMAND if node is command else _OPTION_SUBCOMMAND_GROUP
            leaf = [{"type": kind, "name": node.name, "options": leaf}]
            node = node.parent
        data = {
            "id": str(self._command_ids.setdefault(node.name, dpy_factories.make_id())),
            "name": node.name,
            "type": discord.AppCommandType.chat_input.value,
            "options": leaf,
        }
        if resolved:
            data["resolved"] = resolved
        return data

    def _option(
        self,
        param: app_commands.Parameter,
        value: Any,
        resolved: Dict[str, Dict[str, dict]],
        focused: bool,
        channel: discord.TextChannel,
    ) -> dict:
        """One option of the payload; objects go by id with their data in ``resolved``."""
        option: Dict[str, Any] = {"type": param.type.value, "name": param.display_name}
        kind = param.type
        if focused:  # Discord sends what the user typed so far, as a string
            option.update(value=str(value), focused=True)
        elif kind in _PLAIN_OPTION_TYPES:
            option["value"] = value
        elif isinstance(value, discord.Member):
            resolved.setdefault("users", {})[str(value.id)] = dpy_factories.dict_from_user(value._user)
            member = self._member_payload(value, channel)
            del member["user"]
            resolved.setdefault("members", {})[str(value.id)] = member
            option["value"] = str(value.id)
        elif isinstance(value, discord.abc.User):
            resolved.setdefault("users", {})[str(value.id)] = dpy_factories.dict_from_user(value)
            option["value"] = str(value.id)
        elif isinstance(value, discord.Role):
            resolved.setdefault("roles", {})[str(value.id)] = dpy_factories.dict_from_role(value)
            option["value"] = str(value.id)
        elif kind is discord.AppCommandOptionType.attachment:  # a file the member uploaded
            path = Path(value)
            uri = path.absolute().as_uri()
            attachment = dpy_factories.make_attachment_dict(path.name, path.stat().st_size, uri, uri)
            attachment["id"] = str(attachment["id"])
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            option["value"] = attachment["id"]
        elif isinstance(value, discord.abc.GuildChannel):
            me = value.guild.me
            resolved.setdefault("channels", {})[str(value.id)] = {
                "id": str(value.id),
                "type": value.type.value,
                "name": value.name,
                "permissions": str(value.permissions_for(me).value),
                "guild_id": str(value.guild.id),
            }
            option["value"] = str(value.id)
        else:
            raise TypeError(f"Unsupported value {value!r} for option {param.display_name!r} ({kind.name})")
        return option

    def _member_payload(self, member: discord.Member, channel: discord.abc.GuildChannel) -> dict:
        return {
            "user": dpy_factories.dict_from_user(member._user),
            "roles": [str(role.id) for role in member.roles if not role.is_default()],
            "nick": member.nick,
            "joined_at": member.joined_at.isoformat() if member.joined_at else None,
            "flags": member.flags.value,
            "deaf": False,
            "mute": False,
            "permissions": str(channel.permissions_for(member).value),
        }

    async def _send_interaction(
        self,
        interaction_type: int,
        data: dict,
        author: discord.Member,
        channel: discord.TextChannel,
        *,
        wait: bool = True,
    ) -> discord.Interaction:
        state = self.bot._connection
        # The id must be a *recent* snowflake: discord.py derives the 15-minute expiry from it and
        # falls back to channel.send() for an "expired" interaction.
        record = _Interaction(
            id=dpy_factories.make_id(),
            token=secrets.token_urlsafe(24),
            type=interaction_type,
            channel_id=channel.id,
            created=time.monotonic(),
        )
        self._interactions[record.token] = record
        payload = {
            "id": str(record.id),
            "application_id": str(self.bot.application_id),
            "type": interaction_type,
            "token": record.token,
            "version": 1,
            "guild_id": str(channel.guild.id),
            "channel_id": str(channel.id),
            "channel": {
                "id": str(channel.id),
                "type": channel.type.value,
                "name": channel.name,
                "guild_id": str(channel.guild.id),
            },
            "member": self._member_payload(author, channel),
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str(channel.permissions_for(channel.guild.me).value),
            "attachment_size_limit": 8 * 1024 * 1024,
            "authorizing_integration_owners": {"0": str(channel.guild.id)},
            "context": 0,
            "entitlements": [],
        }
        # What ConnectionState.parse_interaction_create does for application commands and
        # autocomplete, unrolled to get hold of the Interaction and of the tree's task (it is not
        # one of dpytest's "_run_event" tasks, so run_all_events() would not wait for it).
        interaction = discord.Interaction(data=payload, state=state)
        before = asyncio.all_tasks()
        state._command_tree._from_interaction(interaction)
        state.dispatch("interaction", interaction)
        invokers = [t for t in asyncio.all_tasks() - before if t.get_name() == "CommandTree-invoker"]
        if wait:
            if invokers:
                await asyncio.gather(*invokers)
            await dpy_runner.run_all_events()
        return interaction

    def _interaction_for(self, route: Any) -> _Interaction:
        record = self._interactions.get(route.webhook_token)
        if record is None:
            raise _http_error(discord.NotFound, 404, 10015, "Unknown Webhook")
        return record

    async def _webhook_request(
        self, route: Any, *, payload: Optional[dict] = None, multipart: Optional[list] = None, **_: Any
    ) -> Any:
        """Discord's interaction callback and webhook (followup) endpoints, for our interactions."""
        if route.webhook_token not in self._interactions and route.path.startswith("/webhooks/"):
            return self._channel_webhook_request(
                route, _json_payload(payload, multipart), _.get("params") or {}
            )
        record = self._interaction_for(route)
        body = _json_payload(payload, multipart)
        method, path = route.method, route.path
        self.limits.check_body(body.get("data") or {} if "/callback" in path else body)
        if path == "/interactions/{webhook_id}/{webhook_token}/callback" and method == "POST":
            return self._interaction_callback(record, body)
        if path == "/webhooks/{webhook_id}/{webhook_token}" and method == "POST":
            return self._followup(record, body)
        if path.startswith("/webhooks/{webhook_id}/{webhook_token}/messages/"):
            ref = route.url.rsplit("/", 1)[1]
            if ref == "@original":
                if record.original_id is None:
                    raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
                message_id = record.original_id
            else:
                message_id = int(ref)
            data, message = self._message_data.get(message_id), self._messages.get(message_id)
            if data is None or message is None or message.interaction_id != record.id:
                raise _http_error(discord.NotFound, 404, 10008, "Unknown Message")
            if method == "GET":
                return copy.deepcopy(data)
            via: Via = "interaction" if ref == "@original" else "followup"
            if method == "PATCH":
                if message.loading:  # editing the "thinking" response answers it
                    return self._fill_placeholder(record, body, via=via)
                return self._edit_message(record.channel_id, message_id, body, via=via)
            if method == "DELETE":
                self._delete_message(record.channel_id, message_id, via=via)
                return None
        raise NotImplementedError(f"The harness has no fake for {method} {path}")

    # -- channel webhooks (created with channel.create_webhook, executed and edited by token) --

    def _list_webhooks(self, channel_id: int) -> List[dict]:
        return [
            copy.deepcopy(w) for w in self.channel_webhooks.values() if int(w["channel_id"]) == channel_id
        ]

    def _new_webhook(self, channel_id: int, name: str) -> dict:
        if self.deny_webhooks:
            raise _http_error(discord.Forbidden, 403, 50013, "Missing Permissions")
        channel = self.bot.get_channel(channel_id)
        token = f"webhook-token-{dpy_factories.make_id()}"
        data = {
            "id": str(dpy_factories.make_id()),
            "type": 1,
            "channel_id": str(channel_id),
            "guild_id": str(channel.guild.id),
            "name": name,
            "avatar": None,
            "token": token,
            "application_id": None,
            "user": dpy_factories.dict_from_user(self.bot.user),
        }
        self.channel_webhooks[token] = data
        return copy.deepcopy(data)

    def delete_webhooks(self) -> None:
        """Someone deletes every channel webhook (messages sent through them stay)."""
        self.channel_webhooks.clear()

    def _channel_webhook_request(self, route: Any, body: dict, params: dict) -> Any:
        hook = self.channel_webhooks.get(route.webhook_token)
        if hook is None:
            raise _http_error(discord.NotFound, 404, 10015, "Unknown Webhook")
        channel_id = int(params.get("thread_id") or hook["channel_id"])
        method, path = route.method, route.path
        thread_id = params.get("thread_id")
        self.webhook_requests.append((method, int(hook["channel_id"]), int(thread_id) if thread_id else None))
        if path == "/webhooks/{webhook_id}/{webhook_token}" and method == "POST":
            channel = self.bot.get_channel(channel_id)
            content = body.get("content") or ""
            data = dpy_factories.make_message_dict(
                channel, self.bot.user, content=content, guild_id=channel.guild.id, webhook_id=int(hook["id"])
            )
            # As on Discord: the author is the webhook itself (its id, the name it was given), not the bot.
            data["author"] = {
                **data["author"],
                "id": hook["id"],
                "username": body.get("username") or hook["name"],
                "bot": True,
                "discriminator": "0000",
            }
            data["embeds"] = list(body.get("embeds") or [])
            dpy_backend._cur_config.messages.setdefault(channel_id, []).append(data)
            self.bot._connection.parse_message_create(copy.copy(data))
            self._message_data[int(data["id"])] = data
            self._on_send(channel_id, data, body, via="webhook")
            return copy.deepcopy(data) if params.get("wait") else None
        if path.startswith("/webhooks/{webhook_id}/{webhook_token}/messages/"):
            message_id = int(route.url.rsplit("/", 1)[1].split("?")[0])
            if method == "PATCH":
                return self._edit_message(
                    channel_id, message_id, body, via="webhook", webhook_id=int(hook["id"])
                )
            if method == "DELETE":
                self._delete_message(channel_id, message_id, via="webhook")
                return None
        raise NotImplementedError(f"The harness has no fake for {method} {path}")

    def _interaction_callback(self, record: _Interaction, body: dict) -> dict:
        callback_type = body.get("type")
        sent = dict(body.get("data") or {})
        if record.response_type is not None:
            raise _http_error(discord.HTTPException, 400, 40060, "Interaction has already been acknowledged.")
        deadline = self.interaction_ack_timeout
        if deadline is not None and time.monotonic() - record.created > deadline:
            raise _http_error(discord.NotFound, 404, 10062, "Unknown interaction")
        record.response_type = callback_type
        ephemeral = bool(int(sent.get("flags") or 0) & _EPHEMERAL)
        response: Dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_loading": False,
                "response_message_ephemeral": ephemeral,
            }
        }
        now = time.monotonic()
        raw = {**sent, "callback_type": callback_type}
        if callback_type == _CALLBACK_MESSAGE:
            data = self._create_message(record, sent, ephemeral=ephemeral)
            record.original_id = int(data["id"])
            self._on_send(record.channel_id, data, sent, via="interaction", interaction_id=record.id)
            response["interaction"]["response_message_id"] = str(record.original_id)
            response["resource"] = {"type": callback_type, "message": copy.deepcopy(data)}
        elif callback_type == _CALLBACK_DEFER:
            # Discord shows a "Bot is thinking..." message; the first followup (or an edit of the
            # original response) turns it into the answer, keeping its id and ephemerality.
            data = self._create_message(record, {}, ephemeral=ephemeral, loading=True)
            record.original_id = int(data["id"])
            self._messages[record.original_id] = BotMessage(
                record.original_id,
                record.channel_id,
                "",
                [],
                via="interaction",
                ephemeral=ephemeral,
                loading=True,
                interaction_id=record.id,
            )
            response["interaction"].update(
                response_message_id=str(record.original_id), response_message_loading=True
            )
            response["resource"] = {"type": callback_type}
            self._record(
                BotEvent(
                    "defer",
                    record.channel_id,
                    record.original_id,
                    None,
                    None,
                    now,
                    raw,
                    via="interaction",
                    ephemeral=ephemeral,
                    interaction_id=record.id,
                )
            )
        else:
            if callback_type == _CALLBACK_AUTOCOMPLETE:
                record.autocomplete_choices = list(sent.get("choices") or [])
            kind = "autocomplete" if callback_type == _CALLBACK_AUTOCOMPLETE else "interaction_response"
            self._record(
                BotEvent(
                    kind,
                    record.channel_id,
                    None,
                    None,
                    None,
                    now,
                    raw,
                    via="interaction",
                    interaction_id=record.id,
                )
            )
        return response

    def _followup(self, record: _Interaction, body: dict) -> dict:
        if record.response_type is None:
            raise _http_error(discord.NotFound, 404, 10015, "Unknown Webhook")
        original = self._messages.get(record.original_id) if record.original_id else None
        if original is not None and original.loading:
            return self._fill_placeholder(record, body, via="followup")
        ephemeral = bool(int(body.get("flags") or 0) & _EPHEMERAL)
        data = self._create_message(record, body, ephemeral=ephemeral)
        self._on_send(record.channel_id, data, body, via="followup", interaction_id=record.id)
        return copy.deepcopy(data)

    def _fill_placeholder(self, record: _Interaction, body: dict, *, via: Via) -> dict:
        data = self._message_data[record.original_id]
        data["content"] = body.get("content") or ""
        data["embeds"] = list(body.get("embeds") or [])
        for key in ("components", "poll"):
            if key in body:
                data[key] = body[key]
        data["flags"] = int(data.get("flags") or 0) & ~_LOADING  # ephemerality was set by the defer
        self._on_send(record.channel_id, data, body, via=via, interaction_id=record.id)
        return copy.deepcopy(data)


def _install_webhook_fake() -> None:
    AsyncWebhookAdapter.request = _fake_webhook_request  # type: ignore[method-assign]


def _remove_webhook_fake() -> None:
    AsyncWebhookAdapter.request = _real_webhook_request  # type: ignore[method-assign]
