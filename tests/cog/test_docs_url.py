"""``ai docs add <url>``: a document fetched through the tools' URL guard is stored and cited like an
attached one. A local page server on 127.0.0.1 is reachable only once the owner allow-lists it
(exactly as for ``ai scrape``); private addresses, redirects to them, oversized pages and other
types are refused with nothing fetched that should not be."""

from __future__ import annotations

import json
import socket
from typing import AsyncIterator, List

import pytest
from aiohttp import web
from conftest import owner, say, text_of

from skynet.engine.memory.documents import MAX_BYTES
from skynet_dev.samples import make_pdf

pytestmark = pytest.mark.discord_bursts  # the script types commands faster than people do

HANDBOOK = "Guests park their bicycles behind the library, next to the blue door."
ARTICLE = """<html><head><title>Club Rules</title></head><body>
<nav>Home | About | Contact</nav>
<article><h1>Club Rules</h1>
<h2>Lockers</h2>
<p>Lockers are emptied every Sunday evening by the caretaker, so members must take their
belongings home before the weekend ends. Padlocks left on lockers are cut off on Monday morning.</p>
</article><footer>Copyright the club</footer></body></html>"""


class Pages:
    """A local web server with a few documents; ``hits`` lists every path requested."""

    def __init__(self) -> None:
        self.hits: List[str] = []
        self.url = ""
        self.host = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path)
        if request.path == "/handbook.txt":
            return web.Response(text=HANDBOOK, content_type="text/plain")
        if request.path == "/files/boiler manual":  # a PDF served without a PDF content type
            body = make_pdf(["The boiler restarts with the red switch in the cellar."])
            return web.Response(body=body, content_type="application/octet-stream")
        if request.path == "/rules":
            return web.Response(text=ARTICLE, content_type="text/html")
        if request.path == "/big.txt":
            return web.Response(body=b"word " * (MAX_BYTES // 5 + 1000), content_type="text/plain")
        if request.path == "/photo":
            return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(100), content_type="image/png")
        if request.path == "/sneaky":
            raise web.HTTPFound("http://10.0.0.1/admin")
        raise web.HTTPNotFound()

    async def __aenter__(self) -> "Pages":
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.host, self.url = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()


@pytest.fixture
async def pages() -> AsyncIterator[Pages]:
    async with Pages() as server:
        yield server


async def add(red, url: str) -> str:
    """A server admin (not the owner) adds a document by URL."""
    return text_of(await say(red, f"!ai docs add {url}", author=red.admin))


def system_block(provider) -> str:
    messages = provider.chat_requests[-1]["messages"]
    return "\n".join(m["content"] for m in messages[1:] if m["role"] == "system")


async def chat(red, text: str) -> None:
    await red.say(f"!ai chat {text}")
    await red.settle()


async def test_text_pdf_and_html_pages_are_added_by_url_and_cited(mem, provider, cog, pages) -> None:
    # Not yet allow-listed: a local page is refused before any request is made.
    assert "isn't allowed" in await add(mem, f"{pages.url}/handbook.txt")
    assert pages.hits == []
    await owner(mem, f"!ai tools allow {pages.host}")

    added = await add(mem, f"{pages.url}/handbook.txt")
    assert "Added `handbook.txt` as document" in added and "(1 passages)" in added
    assert "Added `boiler manual` as document" in await add(mem, f"<{pages.url}/files/boiler%20manual>")
    assert "Added `Club Rules` as document" in await add(mem, f"{pages.url}/rules")
    listed = text_of(await owner(mem, "!ai docs list"))
    assert "handbook.txt" in listed and "boiler manual" in listed and "Club Rules" in listed

    await chat(mem, "where do guests park their bicycles?")
    assert f"[handbook.txt › text]\n{HANDBOOK}" in system_block(provider)
    await chat(mem, "how does the boiler restart?")
    assert "[boiler manual › page 1]\nThe boiler restarts with the red switch" in system_block(provider)
    await chat(mem, "when are the lockers emptied?")
    block = system_block(provider)
    assert "[Club Rules › Club Rules › Lockers]\nLockers are emptied every Sunday" in block
    assert "Home | About" not in block and "Copyright" not in block  # the main text only

    # The member who added them owns them for data export.
    files = await cog.red_get_data_for_user(user_id=mem.admin.id)
    data = json.loads(files["skynet_user_data.json"].getvalue())
    names = [d["name"] for d in data["long_term_memory"]["documents"]]
    assert sorted(names) == ["Club Rules", "boiler manual", "handbook.txt"]


async def test_private_oversized_and_unsupported_pages_are_refused(mem, provider, cog, pages) -> None:
    private = "That address is on a private network; I can't fetch it."
    assert private in await add(mem, "http://10.0.0.1/x")
    assert private in await add(mem, "http://169.254.169.254/latest/meta-data")
    assert "Only http:// and https://" in await add(mem, "file:///etc/passwd")
    assert pages.hits == []

    await owner(mem, f"!ai tools allow {pages.host}")
    assert private in await add(mem, f"{pages.url}/sneaky")  # the redirect is checked again
    assert f"larger than {MAX_BYTES // 1048576} MB" in await add(mem, f"{pages.url}/big.txt")
    assert "`image/png`, not a document" in await add(mem, f"{pages.url}/photo")
    assert "HTTP 404" in await add(mem, f"{pages.url}/missing.txt")
    assert pages.hits == ["/sneaky", "/big.txt", "/photo", "/missing.txt"]
    assert "no documents yet" in text_of(await owner(mem, "!ai docs list"))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    await owner(mem, f"!ai tools allow 127.0.0.1:{closed}")
    assert "couldn't connect" in await add(mem, f"http://127.0.0.1:{closed}/doc.txt")
    assert "server admins" in text_of(await say(mem, f"!ai docs add {pages.url}/handbook.txt"))
    assert pages.hits[-1] == "/missing.txt"  # a member is refused before anything is fetched


async def test_a_url_can_be_added_with_the_slash_command(mem, pages) -> None:
    await owner(mem, f"!ai tools allow {pages.host}")
    await mem.enable_slash("ai", "aiset")
    start = len(mem.events)
    await mem.slash("aiset docs add", url=f"{pages.url}/handbook.txt", author=mem.admin)
    await mem.settle()
    shown = "\n".join(e.content or "" for e in mem.events[start:])
    assert "Added `handbook.txt` as document" in shown, shown
    assert pages.hits == ["/handbook.txt"]
