"""``RedHarness``: a real Red bot in a simulated guild, started and closed."""

from __future__ import annotations

import asyncio
import datetime
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import discord
from discord.ext.test import backend as dpy_backend
from discord.ext.test import callbacks as dpy_callbacks
from discord.ext.test import runner as dpy_runner
from redbot.core import data_manager
from redbot.core._cli import parse_cli_flags
from redbot.core._drivers import get_driver_class
from redbot.core.bot import Red

from skynet_dev.discord_limits import DiscordLimits

from . import imports, shared
from .driving import HarnessDriving
from .events import BotEvent, BotMessage, HarnessIds, log
from .interactions import HarnessInteractions
from .messages import HarnessMessages
from .shared import (
    _fill_reaction_payloads,
    _HarnessHttp,
    _install_webhook_fake,
    _Interaction,
    _remove_webhook_fake,
    reset_shared_state,
)


class RedHarness(HarnessDriving, HarnessMessages, HarnessInteractions):
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
        ids: HarnessIds = HarnessIds(),  # noqa: B008 (frozen: one shared default is safe)
        background: Optional[Callable[[asyncio.Task], bool]] = None,
        storage_type: str = "JSON",
        storage_details: Optional[Dict[str, Any]] = None,
        limits: Optional[DiscordLimits] = None,
        bot_name: Optional[str] = None,
        reuse_imports: bool = True,
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
        :param reuse_imports: ``[p]load`` of a cog from ``cog_paths`` reuses the bot's import of
            it from an earlier harness in this process when its files are unchanged (see
            ``harness.imports``); False: Red re-executes its modules, as after an edit.
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
        self.reuse_imports = reuse_imports
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
        if shared._active is not None:
            raise RuntimeError("Another RedHarness is running in this process; close() it first")
        reset_shared_state()
        shared._active = self
        _install_webhook_fake()
        self._preexisting_tasks = set(asyncio.all_tasks())
        self._stashed_modules = self._take_cog_modules()
        if self.reuse_imports:
            imports.install()
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
        if shared._active is not self:
            return
        try:
            bot = getattr(self, "bot", None)
            if bot is not None:
                # AutoShardedClient.close() posts to a queue only created by connect().
                if not hasattr(bot, "_AutoShardedClient__queue"):
                    bot._AutoShardedClient__queue = asyncio.PriorityQueue()
                if self.reuse_imports and self._started:
                    imports.keep(set(bot.extensions) & self._cog_packages())
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
            shared._active = None
            _remove_webhook_fake()
            basic_config, instance_name = self._saved_data_manager
            data_manager.basic_config = basic_config
            data_manager._instance_name = instance_name
            for _, future in self._event_waiters:
                future.cancel()
            self._event_waiters.clear()
            reset_shared_state()
            imports.uninstall()
            self._take_cog_modules()  # the bot's own import of its cogs
            sys.modules.update(self._stashed_modules)

    def _take_cog_modules(self) -> Dict[str, Any]:
        """Remove (and return) the imported modules of cog packages found in ``cog_paths``.

        Red's ``[p]load`` re-executes an already imported cog's modules in place, which would
        swap the classes under the feet of code that imported them (tests importing the engine).
        The bot gets its own import instead, and the process's is put back by ``close()``.
        """
        cogs = self._cog_packages()
        taken = {n: m for n, m in sys.modules.items() if n.split(".")[0] in cogs}
        for name in taken:
            del sys.modules[name]
        return taken

    def _cog_packages(self) -> Set[str]:
        """The cog packages found in ``cog_paths``."""
        return {
            p.name
            for root in self.cog_paths
            if root.is_dir()
            for p in root.iterdir()
            if (p / "info.json").is_file()
        }

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
