"""One MCP server: a session owned by its own task, calls made through it.

The ``mcp`` SDK is built on anyio: a transport's task group and the child process must be entered
and left by the same task, so each server has one lifecycle task that connects, lists the tools,
waits (pinging now and then) and reconnects with backoff when the session dies. Calls run in the
caller's task through the live session, each bounded by the server's timeout and concurrency; a
call that is cancelled or times out is cancelled on the server too (``notifications/cancelled``).
When the session dies, sends something that isn't JSON-RPC, or the server is removed, every call
in flight ends at once with a message that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional

from ...i18n import _
from ..registry import ToolError
from .config import HTTP, ServerConfig
from .transport import describe_failure, open_transport, stderr_tail

log = logging.getLogger("red.skynet.mcp")

CONNECT_TIMEOUT = 20.0
HEARTBEAT = 60.0
PING_TIMEOUT = 10.0
BACKOFF = (1.0, 2.0, 5.0, 15.0, 60.0)
MAX_TOOLS = 1000
IDLE, CONNECTING, READY, FAILED, CLOSED = "idle", "connecting", "ready", "failed", "closed"

Secrets = Callable[[], Mapping[str, str]]
ToolsChanged = Callable[["McpConnection", List[Dict[str, Any]]], None]


class McpConnection:
    """The session with one server. ``secrets`` returns its shared API tokens (read at connect
    time); ``on_tools`` gets the server's tool list (raw dicts) whenever it is (re)read."""

    def __init__(
        self,
        config: ServerConfig,
        secrets: Secrets,
        on_tools: ToolsChanged,
        *,
        redact: Callable[[str], str] = lambda text: text,
        connect_timeout: float = CONNECT_TIMEOUT,
        heartbeat: float = HEARTBEAT,
        backoff: tuple = BACKOFF,
    ) -> None:
        self.config = config
        self._secrets = secrets
        self._on_tools = on_tools
        self._redact = redact
        self.connect_timeout = connect_timeout
        self.heartbeat = heartbeat
        self.backoff = backoff
        self._state = IDLE
        self._changed = asyncio.Event()  # pulsed (set, then replaced) at every state change
        self.attempts = 0  # connection attempts started
        self.last_error: Optional[str] = None
        self.latencies: Deque[float] = deque(maxlen=100)
        self.connects = 0
        self.server_info = ""
        self._task: Optional[asyncio.Task] = None
        self._session: Any = None
        # Poking wakes the lifecycle task (a call needs it, a notification, close). It waits on a
        # bare future, not wait_for(Event.wait()): no helper task that lives as long as the session.
        self._woken = False
        self._waker: Optional[asyncio.Future] = None
        self._stop = False
        self._refresh = False
        self._broken: Optional[asyncio.Future] = None  # resolves with a reason when the session dies
        self._stderr: Optional[str] = None

    @property
    def config(self) -> ServerConfig:
        return self._config

    @config.setter
    def config(self, value: ServerConfig) -> None:
        """New settings apply to the next call (the session keeps running)."""
        if getattr(self, "_config", None) is None or value.concurrency != self._config.concurrency:
            self._semaphore = asyncio.Semaphore(max(1, value.concurrency))
        self._config = value

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _live(self) -> bool:
        return (
            self._session is not None
            and self.state == READY
            and self._broken is not None
            and not self._broken.done()
        )

    def start(self) -> None:
        """Connect in the background (no-op when already connected or connecting)."""
        if self._stop:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"background:mcp-{self.config.name}")
        elif self.state == FAILED:
            self._poke()  # skip the rest of the backoff: someone needs it now

    async def close(self, reason: Optional[str] = None) -> None:
        """End the session, stop the child process and fail the calls in flight with ``reason``."""
        self._stop = True
        self._break(reason or _("The MCP server `{name}` was disconnected.").format(name=self.config.name))
        self._poke()
        task = self._task
        if task is not None and not task.done():
            try:
                # The SDK waits up to 2 s for a child to exit after stdin closes, then terminates it.
                await asyncio.wait_for(asyncio.shield(task), 10.0)
            except (asyncio.TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self.state = CLOSED

    async def ready(self, timeout: Optional[float] = None) -> Any:
        """The live session, connecting first if needed; ``ToolError`` if it can't be reached (an
        attempt started after this call failed, or none succeeded in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.connect_timeout if timeout is None else timeout)
        # The attempt in progress counts; otherwise the next one started must decide.
        first = self.attempts - 1 if self.state == CONNECTING else self.attempts
        while not self._live():
            if self._stop:
                raise ToolError(
                    _("The MCP server `{name}` was removed.").format(name=self.config.name), "mcp_closed"
                )
            if self.state == FAILED and self.attempts > first:
                raise ToolError(self.unreachable(), "mcp_unreachable")
            changed = self._changed
            self.start()
            left = deadline - loop.time()
            if left <= 0:
                raise ToolError(self.unreachable(), "mcp_unreachable")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), left)
        return self._session

    def unreachable(self) -> str:
        detail = self.last_error or _("it did not answer in time")
        return _("The MCP server `{name}` can't be reached: {detail}").format(
            name=self.config.name, detail=detail
        )

    async def _run(self) -> None:
        attempt = 0
        while not self._stop:
            self.attempts += 1
            self.state = CONNECTING
            self._woken = False
            self._stderr = None
            connected = False
            try:
                connected = await self._session_once()
            except Exception as exc:  # every failure is recorded; the loop goes on
                self.last_error = self._describe(exc)
                if self._stderr:
                    self.last_error += " — " + self._redact(self._stderr)
                log.info("MCP server %s: %s", self.config.name, self.last_error)
            except asyncio.CancelledError:
                raise
            finally:
                self._session = None
            if self._stop:
                break
            self.state = FAILED
            attempt = 0 if connected else attempt + 1
            if attempt > len(self.backoff):
                await self._nap(None)  # gave up for now: the next call or command tries again
                attempt = len(self.backoff) - 1
                continue
            delay = self.backoff[max(attempt - 1, 0)]
            await self._nap(delay)
        self.state = CLOSED

    async def _session_once(self) -> bool:
        """Connect, list the tools, then serve until stopped or broken. True if it got ready."""
        from mcp import ClientSession

        stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        got_ready = False
        try:
            async with contextlib.AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self._transport(stderr))
                read, write = streams[0], streams[1]
                session = await stack.enter_async_context(
                    ClientSession(read, write, message_handler=self._on_message)
                )
                loop = asyncio.get_running_loop()
                self._broken = loop.create_future()
                try:
                    init = await asyncio.wait_for(session.initialize(), self.connect_timeout)
                    info = getattr(init, "serverInfo", None)
                    self.server_info = f"{getattr(info, 'name', '')} {getattr(info, 'version', '')}".strip()
                    await self._list_tools(session)
                except asyncio.TimeoutError:
                    raise ToolError(
                        _("it did not answer the MCP handshake within {seconds:g} s").format(
                            seconds=self.connect_timeout
                        )
                    ) from None
                except Exception as exc:
                    error = getattr(exc, "error", None)
                    if self.config.transport == HTTP and error is not None:  # an HTTP answer that isn't MCP
                        raise ToolError(
                            _("the address answered, but not as an MCP endpoint ({detail})").format(
                                detail=self._redact(str(getattr(error, "message", ""))[:200])
                            )
                        ) from None
                    raise
                self._session = session
                self.state = READY
                self.last_error = None
                self.connects += 1
                got_ready = True
                await self._serve(session)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            if got_ready and self._stop:
                return True  # closing: whatever the transport raised on the way out is no news
            self._stderr = stderr_tail(stderr)
            raise
        finally:
            stderr.close()
            if self._broken is not None and not self._broken.done():
                self._broken.set_result(
                    _("The connection to the MCP server `{name}` was lost.").format(name=self.config.name)
                )
        return got_ready

    async def _serve(self, session: Any) -> None:
        assert self._broken is not None
        while not self._stop and not self._broken.done():
            poked = await self._nap(self.heartbeat)
            if self._stop or self._broken.done():
                break
            try:
                if self._refresh:
                    self._refresh = False
                    await asyncio.wait_for(self._list_tools(session), self.connect_timeout)
                elif not poked:
                    await asyncio.wait_for(session.send_ping(), PING_TIMEOUT)
            except Exception as exc:
                self._break(_("The MCP server `{name}` stopped answering.").format(name=self.config.name))
                self.last_error = self._describe(exc)
        reason = self._broken.result() if self._broken.done() else None
        if reason and not self._stop:
            self.last_error = self.last_error or reason

    def _transport(self, stderr: Any) -> Any:
        return open_transport(self.config, dict(self._secrets() or {}), self.connect_timeout, stderr)

    async def _list_tools(self, session: Any) -> None:
        tools: List[Dict[str, Any]] = []
        cursor = None
        for _page in range(50):
            result = await session.list_tools(cursor) if cursor else await session.list_tools()
            for tool in result.tools:
                tools.append(tool.model_dump(by_alias=True, exclude_none=True, mode="json"))
            cursor = getattr(result, "nextCursor", None)
            if not cursor or len(tools) >= MAX_TOOLS:
                break
        self._on_tools(self, tools[:MAX_TOOLS])

    async def _on_message(self, message: Any) -> None:
        """Everything the session does not answer itself: notifications and transport errors."""
        if isinstance(message, Exception):
            if type(message).__name__ not in ("ValidationError", "JSONDecodeError"):
                # e.g. the answer to a request we cancelled: not a fault of the server
                log.debug("MCP server %s: %s", self.config.name, self._redact(str(message)[:200]))
                return
            self.last_error = _("it sent a message that is not valid JSON-RPC")
            self._break(
                _("The MCP server `{name}` sent a malformed message (not JSON-RPC); reconnecting.").format(
                    name=self.config.name
                )
            )
            return
        root = getattr(message, "root", None)
        if type(root).__name__ == "ToolListChangedNotification":
            self._refresh = True
            self._poke()

    def _break(self, reason: str) -> None:
        if self._broken is not None and not self._broken.done():
            self._broken.set_result(reason)
        self._poke()

    def _poke(self) -> None:
        self._woken = True
        if self._waker is not None and not self._waker.done():
            self._waker.set_result(True)

    async def _nap(self, seconds: Optional[float]) -> bool:
        """Wait until poked (True) or ``seconds`` passed (False; None: no limit)."""
        if self._woken:
            self._woken = False
            return True
        loop = asyncio.get_running_loop()
        waker = self._waker = loop.create_future()
        timer = None
        if seconds is not None:
            timer = loop.call_later(seconds, lambda: waker.done() or waker.set_result(False))
        try:
            return bool(await waker)
        finally:
            if timer is not None:
                timer.cancel()
            self._waker = None
            self._woken = False

    # -- calls ----------------------------------------------------------------------------------------

    async def call(self, tool: str, arguments: Dict[str, Any]) -> Any:
        """Call ``tool``; the raw ``CallToolResult``. Every failure is a ``ToolError`` that says what
        happened (timeout, crash, removal, malformed answer, protocol error)."""
        session = await self.ready()
        name = self.config.name
        async with self._semaphore:
            session = self._session or session
            broken = self._broken
            if broken is None or broken.done():
                raise ToolError(self.unreachable(), "mcp_unreachable")
            request_id: List[Any] = []
            started = time.perf_counter()
            task = asyncio.ensure_future(_invoke(session, tool, arguments, request_id))
            try:
                done, _pending = await asyncio.wait(
                    {task, broken}, timeout=self.config.timeout, return_when=asyncio.FIRST_COMPLETED
                )
            except asyncio.CancelledError:
                await self._abandon(task, session, request_id, "cancelled by the user")
                raise
            if task in done:
                self.latencies.append(time.perf_counter() - started)
                return self._result(task)
            await self._abandon(
                task, session, request_id, "timed out" if broken not in done else "connection lost"
            )
            if broken in done:
                raise ToolError(broken.result(), "mcp_disconnected")
            raise ToolError(
                _(
                    "`{tool}` on the MCP server `{name}` took longer than {seconds:g} s; the call was cancelled."
                ).format(tool=tool, name=name, seconds=self.config.timeout),
                "timeout",
            )

    def _result(self, task: "asyncio.Future[Any]") -> Any:
        try:
            return task.result()
        except Exception as exc:
            code = getattr(getattr(exc, "error", None), "code", None)
            if code == -32000 or "Connection closed" in str(exc):  # CONNECTION_CLOSED
                self._break(_("The MCP server `{name}` closed the connection.").format(name=self.config.name))
                raise ToolError(
                    _(
                        "The MCP server `{name}` stopped during the call (it crashed or closed the connection); it will be restarted."
                    ).format(name=self.config.name),
                    "mcp_crashed",
                ) from None
            raise ToolError(
                _("The MCP server `{name}` refused the call: {detail}").format(
                    name=self.config.name, detail=self._describe(exc)
                ),
                "mcp_error",
            ) from None

    async def _abandon(
        self, task: "asyncio.Future[Any]", session: Any, request_id: List[Any], reason: str
    ) -> None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(task), 1.0)
        if request_id and self._broken is not None and not self._broken.done():
            with contextlib.suppress(Exception):
                from mcp import types

                note = types.CancelledNotification(
                    params=types.CancelledNotificationParams(requestId=request_id[0], reason=reason)
                )
                await asyncio.wait_for(session.send_notification(types.ClientNotification(note)), 2.0)

    # -- reporting ------------------------------------------------------------------------------------

    def latency(self) -> Optional[float]:
        """The median latency of recent calls (seconds), or None."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[len(ordered) // 2]

    def _describe(self, exc: BaseException) -> str:
        """A short, secret-free sentence about a failure."""
        return self._redact(describe_failure(exc, self.config.command))


async def _invoke(session: Any, tool: str, arguments: Dict[str, Any], request_id: List[Any]) -> Any:
    # The SDK numbers a request synchronously before its first await: the id is the one to cancel.
    request_id.append(getattr(session, "_request_id", None))
    return await session.call_tool(tool, arguments)
