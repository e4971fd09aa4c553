"""Long-term memory on a real Chroma server (``chroma run``, shipped with chromadb), as a bot that
outgrew one process would use it; and what members see when that server is down."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from conftest import owner, text_of
from test_memory import chat, remember, say, system_block, the_cog

from skynet.delivery.pacing import Pacer

# Members and admins here type faster than people do: Discord's message rates are tested in
# test_streaming.py and test_discord_limits.py; here only message bodies are checked.
pytestmark = pytest.mark.discord_bursts

CHROMA = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromaServer:
    def __init__(self, path: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chroma run did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[ChromaServer]:
    """One real Chroma server for the module (start-up takes a few seconds)."""
    if CHROMA is None:
        pytest.skip("the chroma CLI is not installed")
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    yield server
    server.stop()


async def use_server(red, port: int) -> str:
    return text_of(await say(red, f"!ai memory backend server 127.0.0.1 {port}", author=red.owner))


async def test_memories_live_on_the_chroma_server_and_survive_a_reload(mem, provider, chroma_server):  # noqa: F811
    await owner(mem, "!set api chroma token,chroma-secret-token-123")
    assert "Only the bot owner" in text_of(await say(mem, "!ai memory backend server 127.0.0.1 1"))
    reply = await use_server(mem, chroma_server.port)
    assert f"Chroma server at http://127.0.0.1:{chroma_server.port} — connected" in reply
    assert "I'll remember that" in await remember(mem, "my bike is a red Bianchi")
    assert "chroma-secret-token-123" not in reply
    await owner(mem, "!unload skynet")
    await owner(mem, "!load skynet")
    shown = text_of(await say(mem, "!ai memory backend show"))
    assert "Chroma server" in shown
    the_cog(mem).pacer = Pacer(channel_interval=0.0)
    await chat(mem, "what bike do I have?")
    assert "my bike is a red Bianchi" in system_block(provider)
    # Nothing went to the embedded store.
    assert not (Path(str(the_cog(mem).memory_service.chroma_path))).exists()
    await the_cog(mem).red_delete_data_for_user(requester="user", user_id=mem.member.id)
    assert await the_cog(mem).memory_service.store.get({"user": str(mem.member.id)}) == []
    back = text_of(await say(mem, "!ai memory backend local", author=mem.owner))
    assert "embedded chromadb in the cog's data folder" in back


async def test_a_server_that_goes_down_leaves_chat_working_with_one_warning(mem, provider, tmp_path, caplog):  # noqa: F811
    server = ChromaServer(tmp_path / "doomed")
    try:
        await use_server(mem, server.port)
        await remember(mem, "I speak Basque")
        await chat(mem, "which language do I speak?")
        assert "Basque" in system_block(provider)
    finally:
        server.stop()
    caplog.set_level(logging.INFO, logger="red.skynet.memory")
    for n in range(3):
        assert (await chat(mem, f"still there {n}?")) == f"echo: member: still there {n}?"
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "long-term memory" in r.getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unavailable" in await remember(mem, "I also speak Catalan")


async def test_a_server_that_is_not_there_at_all(mem, provider, caplog):  # noqa: F811
    reply = await use_server(mem, free_port())
    assert "can't be reached yet" in reply
    caplog.set_level(logging.WARNING, logger="red.skynet.memory")
    assert (await chat(mem, "hello?")) == "echo: member: hello?"
    assert (await chat(mem, "anyone?")) == "echo: member: anyone?"
    warnings = [r for r in caplog.records if "without long-term memory" in r.getMessage()]
    assert len(warnings) == 1
