"""Driving the bot as members do (messages, slash commands, autocomplete) and waiting for it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Set, Union

import discord
from discord.ext.test import backend as dpy_backend
from discord.ext.test import factories as dpy_factories
from discord.ext.test import runner as dpy_runner

from .events import BotEvent, BotMessage, log
from .shared import _FaultResponse, _is_long_lived


class HarnessDriving:
    """Part of :class:`RedHarness`: what a test does and waits for."""

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
