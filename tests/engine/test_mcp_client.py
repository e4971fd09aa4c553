"""The MCP client against real MCP servers started here: the fake server built with the ``mcp``
package as a stdio child process and over streamable HTTP on 127.0.0.1, and the published
``mcp-server-time``. Every fault (hang, crash, huge result, malformed JSON-RPC, odd schemas,
duplicate names, removal mid-call) ends with a clear message, and no child process is left.

Servers start once per module (one event loop for the module)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, Mapping

import pytest
import pytest_asyncio

from skynet.engine.providers.base import ToolCallRequest
from skynet.engine.tools.loop import ToolLoop
from skynet.engine.tools.mcp.config import ServerConfig, parse_target
from skynet.engine.tools.mcp.manager import McpManager
from skynet.engine.tools.registry import ToolRegistry
from skynet.engine.tools.telemetry import ToolTelemetry
from skynet_dev.mcp_servers import HttpFakeServer, alive, children, fake_command, read_pid, time_command

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "s3cr3t-value-never-shown"


class Request:
    user_id = 7
    guild_id = 1
    channel_id = 2
    conversation = "channel:2"
    text = ""


class Bot:
    """The registry, loop and manager the cog would hold, with secrets per service."""

    def __init__(self) -> None:
        self.registry = ToolRegistry()
        self.telemetry = ToolTelemetry()
        self.tokens: Dict[str, Mapping[str, str]] = {}
        self.saved: list = []
        self.manager = McpManager(self.registry, lambda s: self.tokens.get(s, {}), saved=self.saved.append)
        self.loop = ToolLoop(self.registry.all, self.telemetry, enabled=lambda r: self.registry.names())

    async def call(self, name: str, arguments: Dict[str, Any]):
        call = ToolCallRequest(id="c1", name=name, arguments=json.dumps(arguments))
        offered = {t.name: t for t in self.registry.all()}
        return await self.loop.execute(call, offered, Request())


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpFakeServer]:
    with HttpFakeServer() as server:
        yield server


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(http_server: HttpFakeServer, files: Path) -> AsyncIterator[Bot]:
    bot = Bot()
    bot.tokens["mcp-fake"] = {"API_TOKEN": SECRET}
    bot.tokens["mcp-web"] = {"bearer": SECRET}
    bot.manager.load(
        [
            parse_target(
                "fake",
                fake_command(
                    "--odd", "--pid-file", str(files / "fake.pid"), "--marker", str(files / "marker")
                ),
            ),
            parse_target("web", [http_server.url]),
            parse_target("time", time_command()),
        ]
    )
    yield bot
    await bot.manager.aclose()


async def test_stdio_server_tools_become_registry_tools_and_answer(bot: Bot) -> None:
    report = await bot.manager.test("fake")
    assert report.ok and report.tools >= 15, report
    names = bot.registry.names()
    assert "fake__echo" in names and "fake__add" in names
    result = await bot.call("fake__add", {"a": 2, "b": 40})
    assert result.ok and result.content == "42"
    # The tool list is cached for the next load (tools offered before the server is contacted).
    assert any(t["name"] == "echo" for t in bot.saved[-1].known_tools)
    assert bot.telemetry.stats("fake__add").successes == 1


async def test_odd_schemas_are_repaired_or_skipped_with_a_reason_and_names_sanitised(bot: Bot) -> None:
    await bot.manager.test("fake")
    entries = {e.remote: e for e in bot.manager.entries["fake"]}
    assert entries["not_an_object"].registered is None
    assert "not `object`" in entries["not_an_object"].skipped
    repaired = bot.registry.get("fake__repairable")
    assert repaired.parameters["type"] == "object"
    assert repaired.parameters["properties"]["city"] == {"type": "string", "maxLength": 40}
    assert repaired.parameters["required"] == ["city"] and "$schema" not in repaired.parameters
    # "get weather" and "get.weather" both sanitise to get_weather: sorted originals, deterministic.
    assert entries["get weather"].registered == "fake__get_weather"
    assert entries["get.weather"].registered == "fake__get_weather_2"
    long_name = entries["v" * 70].registered
    assert len(long_name) == 64 and long_name.startswith("fake__vvv")
    result = await bot.call("fake__get_weather_2", {})
    assert result.content == "dotted"  # the right remote tool behind the renamed one
    result = await bot.call("fake__repairable", {"city": "x" * 41})
    assert not result.ok and result.error_kind == "bad_arguments"


async def test_results_errors_images_links_and_the_output_cap(bot: Bot) -> None:
    result = await bot.call("fake__fail", {"message": "the disk is full"})
    assert not result.ok and result.error_kind == "mcp_error" and "the disk is full" in result.content
    image = await bot.call("fake__image", {})
    assert image.ok and "[image 1: image/png" in image.content
    link = await bot.call("fake__link", {})
    assert link.content.startswith("Here is the report.") and "file:///srv/report.txt" in link.content
    huge = await bot.call("fake__huge", {"chars": 200_000})
    assert len(huge.content) < 21_000 and "more characters cut" in huge.content


async def test_images_are_kept_as_image_parts(bot: Bot) -> None:
    tool = bot.registry.get("fake__image")
    from skynet.engine.tools.registry import ToolContext

    text = await tool.handler({}, ToolContext())
    assert text.images and text.images[0].mime == "image/png"
    assert text.images[0].data.startswith(b"\x89PNG")


async def test_secrets_reach_the_server_but_never_a_report(bot: Bot) -> None:
    result = await bot.call("fake__env", {"name": "API_TOKEN"})
    assert result.content == f"API_TOKEN is set ({len(SECRET)} characters)"
    web = await bot.call("web__auth", {}) if "web__auth" in bot.registry.names() else None
    if web is None:
        await bot.manager.test("web")
        web = await bot.call("web__auth", {})
    assert web.content == f"authorization: {len('Bearer ' + SECRET)} characters"
    config = bot.manager.get("web")
    assert SECRET not in json.dumps(config.to_json()) and SECRET not in config.target()


async def test_a_hanging_call_times_out_and_is_cancelled_on_the_server(bot: Bot, files: Path) -> None:
    config = bot.manager.get("fake")
    bot.manager.update(ServerConfig.from_json("fake", {**config.to_json(), "timeout": 1}))
    try:
        result = await bot.call("fake__sleep", {"seconds": 30})
    finally:
        bot.manager.update(ServerConfig.from_json("fake", {**config.to_json(), "timeout": 30}))
    assert not result.ok and result.error_kind == "timeout"
    assert "took longer than 1 s" in result.content
    for _ in range(50):
        if (files / "marker").exists() and "cancelled" in (files / "marker").read_text():
            break
        await asyncio.sleep(0.1)
    assert "cancelled" in (files / "marker").read_text()
    assert (await bot.call("fake__echo", {"text": "still here"})).content == "still here"


async def test_a_cancelled_reply_cancels_the_call(bot: Bot, files: Path) -> None:
    (files / "marker").write_text("")
    task = asyncio.create_task(bot.call("fake__sleep", {"seconds": 30}))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if "cancelled" in (files / "marker").read_text():
            break
        await asyncio.sleep(0.1)
    assert "cancelled" in (files / "marker").read_text()


async def test_calls_to_one_server_are_limited_to_its_concurrency(bot: Bot) -> None:
    config = bot.manager.get("fake")
    bot.manager.update(ServerConfig.from_json("fake", {**config.to_json(), "concurrency": 2}))
    try:
        results = await asyncio.gather(*(bot.call("fake__busy", {"seconds": 0.3}) for _ in range(6)))
    finally:
        bot.manager.update(ServerConfig.from_json("fake", {**config.to_json(), "concurrency": 4}))
    assert all(r.ok for r in results)
    assert max(int(r.content.split()[-1]) for r in results) == 2


async def test_a_crash_mid_call_is_reported_and_the_server_restarts(bot: Bot, files: Path) -> None:
    await bot.manager.test("fake")
    before = read_pid(files / "fake.pid")
    result = await bot.call("fake__crash", {})
    assert not result.ok and result.error_kind == "mcp_crashed"
    assert "stopped during the call" in result.content
    again = await bot.call("fake__echo", {"text": "back"})
    assert again.ok and again.content == "back", again.content
    assert read_pid(files / "fake.pid") != before and not alive(before)


async def test_malformed_json_rpc_ends_the_call_with_a_message(bot: Bot) -> None:
    result = await bot.call("fake__garbage", {})
    assert not result.ok and "malformed message" in result.content
    again = await bot.call("fake__echo", {"text": "recovered"})
    assert again.ok and again.content == "recovered"


async def test_tools_list_changed_refreshes_the_registry(bot: Bot) -> None:
    assert "fake__extra" not in bot.registry.names()
    assert (await bot.call("fake__grow", {})).content == "grown"
    for _ in range(50):
        if "fake__extra" in bot.registry.names():
            break
        await asyncio.sleep(0.1)
    assert (await bot.call("fake__extra", {})).content == "extra!"


async def test_streamable_http_server(bot: Bot) -> None:
    report = await bot.manager.test("web")
    assert report.ok, report
    assert (await bot.call("web__echo", {"text": "over http"})).content == "over http"


async def test_published_time_server_answers_offline(bot: Bot) -> None:
    report = await bot.manager.test("time")
    assert report.ok, report
    assert "time__get_current_time" in bot.registry.names()
    result = await bot.call("time__get_current_time", {"timezone": "UTC"})
    assert result.ok and json.loads(result.content)["timezone"] == "UTC"
    converted = await bot.call(
        "time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Paris"}
    )
    assert converted.ok and "Europe/Paris" in converted.content


async def test_unreachable_and_non_mcp_addresses_give_a_clear_message(bot: Bot) -> None:
    from aiohttp import web

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", lambda request: web.Response(status=404, text="not here"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        manager = McpManager(ToolRegistry(), lambda s: {})
        manager.load(
            [
                parse_target("nothere", ["http://127.0.0.1:9/mcp"]),
                parse_target("notmcp", [f"http://127.0.0.1:{port}/mcp"]),
                parse_target("nocmd", ["definitely-not-a-command-xyz"]),
            ]
        )
        for connection in manager.connections.values():
            connection.connect_timeout = 10
        nothere, notmcp, nocmd = [await manager.test(n) for n in ("nothere", "notmcp", "nocmd")]
        await manager.aclose()
    finally:
        await runner.cleanup()
    assert not nothere.ok and "did not answer" in nothere.error, nothere
    assert not notmcp.ok and "not as an MCP endpoint" in notmcp.error, notmcp
    assert not nocmd.ok and "was not found" in nocmd.error, nocmd


async def test_removing_a_server_mid_call_ends_the_call_and_the_process(files: Path) -> None:
    registry = ToolRegistry()
    manager = McpManager(registry, lambda s: {})
    manager.load([parse_target("gone", fake_command("--pid-file", str(files / "gone.pid")))])
    assert (await manager.test("gone")).ok
    pid = read_pid(files / "gone.pid")
    tool = registry.get("gone__sleep")
    from skynet.engine.tools.registry import ToolContext

    call = asyncio.create_task(tool.handler({"seconds": 30}, ToolContext()))
    await asyncio.sleep(0.5)
    await manager.remove("gone")
    with pytest.raises(Exception) as failure:
        await asyncio.wait_for(call, 10)
    assert "removed while the call ran" in str(failure.value)
    assert "gone__sleep" not in registry.names()
    assert not alive(pid)


async def test_closing_stops_every_child_process(files: Path) -> None:
    manager = McpManager(ToolRegistry(), lambda s: {})
    manager.load(
        [
            parse_target("a", fake_command("--pid-file", str(files / "a.pid"))),
            parse_target("b", time_command()),
        ]
    )
    before = set(children())
    assert (await manager.test("a")).ok and (await manager.test("b")).ok
    started = set(children()) - before
    assert read_pid(files / "a.pid") in started and len(started) >= 2
    await manager.aclose()
    assert not (set(children()) & started)
