"""The aiohttp transport behaves like httpx's own one: every case runs on both and must give the same
result (bytes as they arrive, the same exception for a cut, a stall, a refused or dropped connection,
the same SDK errors, redirects and content decoding left to httpx, a pool that survives an abandoned
stream)."""

from __future__ import annotations

import asyncio
import gzip
import socket
from typing import Any, AsyncIterator, Dict, List

import httpx
import openai
import pytest
from aiohttp import web

from skynet.engine.errors import Redactor, StreamCut, explain
from skynet.engine.events import TextDelta
from skynet.engine.providers import aiohttp_transport
from skynet.engine.providers.aiohttp_transport import AiohttpTransport, provider_http_client
from skynet.engine.providers.base import Endpoint
from skynet.engine.providers.openai_compat import OpenAICompatibleProvider

TRANSPORTS = ["httpx", "aiohttp"]


class Server:
    """A local HTTP server with one route per fault."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.seen: Dict[str, Any] = {}
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"first piece\n")
        await self.go.wait()  # the second piece only after the client has read the first
        await response.write(b"second piece\n")
        await response.write_eof()
        return response

    @staticmethod
    async def events(request: web.Request, count: int, gap: float) -> web.StreamResponse:
        """``count`` events ``data: <n>``, ``gap`` seconds apart."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(count):
            await response.write(f"data: {index}\n\n".encode())
            await asyncio.sleep(gap)
        await response.write_eof()
        return response

    async def tokens(self, request: web.Request) -> web.StreamResponse:
        """60 events 2 ms apart, as a fast model streams them."""
        return await self.events(request, 60, 0.002)

    async def slow_tokens(self, request: web.Request) -> web.StreamResponse:
        """100 events 20 ms apart: a model answering for two seconds."""
        return await self.events(request, 100, 0.02)

    async def cut(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)  # chunked: the client knows the body is not complete
        await response.write(b"half a body\n")
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.close()
        return response

    async def stall(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"then nothing\n")
        await asyncio.sleep(30)
        return response

    async def silent(self, request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)  # no status line at all
        return web.Response()

    async def drop(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()  # no response at all
        await asyncio.sleep(0.05)
        return web.Response()

    async def gzipped(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"unzipped once"), headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
        )

    async def redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/echo")

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {"method": request.method, "body": body.decode(), "headers": {k.lower(): v for k, v in request.headers.items()}}
        )

    async def limited(self, request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(
            {"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limited"}},
            status=429,
            headers={"Retry-After": "7"},
        )

    async def __aenter__(self) -> "Server":
        app = web.Application()
        for path, handler in (
            ("/stream", self.stream),
            ("/tokens", self.tokens),
            ("/slow_tokens", self.slow_tokens),
            ("/cut", self.cut),
            ("/stall", self.stall),
            ("/silent", self.silent),
            ("/drop", self.drop),
            ("/gzip", self.gzipped),
            ("/redirect", self.redirect),
            ("/echo", self.echo),
        ):
            app.router.add_route("*", path, handler)
        app.router.add_route("*", "/silent/{tail:.*}", self.silent)
        app.router.add_post("/v1/chat/completions", self.limited)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with Server() as running:
        yield running


def client(kind: str, **kwargs: Any) -> httpx.AsyncClient:
    if kind == "httpx":
        return openai.DefaultAsyncHttpxClient(**kwargs)
    return openai.DefaultAsyncHttpxClient(transport=AiohttpTransport(), **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_bytes_are_handed_over_as_they_arrive(server: Server, kind: str) -> None:
    async with client(kind) as http:
        async with http.stream("GET", f"{server.base_url}/stream") as response:
            assert response.status_code == 200
            pieces = response.aiter_bytes()
            assert await asyncio.wait_for(pieces.__anext__(), 5) == b"first piece\n"  # before the rest exists
            server.go.set()
            assert b"".join([piece async for piece in pieces]) == b"second piece\n"


async def event_stream_reads(server: Server, path: str) -> List[bytes]:
    reads: List[bytes] = []
    async with client("aiohttp") as http:
        async with http.stream("GET", f"{server.base_url}{path}") as response:
            async for data in response.aiter_raw():
                reads.append(data)
    return reads


async def test_a_fast_event_stream_arrives_whole_in_few_reads(server: Server) -> None:
    # Each read is a wake-up and a pass through every layer above: the socket is read at most
    # every EARLY_COALESCE_SECONDS in a stream's first seconds (the first piece at once).
    reads = await event_stream_reads(server, "/tokens")
    assert b"".join(reads) == b"".join(f"data: {i}\n\n".encode() for i in range(60))
    assert len(reads) <= 12  # 60 events over >= 120 ms, read every 50 ms (httpx's transport: ~60)


async def test_a_long_event_stream_is_read_less_often_after_its_first_seconds(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aiohttp_transport, "EARLY_SECONDS", 0.5)  # (2 s in the cog) a shorter test
    reads = await event_stream_reads(server, "/slow_tokens")
    assert b"".join(reads) == b"".join(f"data: {i}\n\n".encode() for i in range(100))
    # 100 events over >= 2 s: ~10 reads in the first half second, then one every 200 ms
    # (every 50 ms throughout: ~40; httpx's transport: ~100)
    assert len(reads) <= 25


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_cut_body_is_a_remote_protocol_error(server: Server, kind: str) -> None:
    async with client(kind) as http:
        async with http.stream("GET", f"{server.base_url}/cut") as response:
            received = b""
            with pytest.raises(httpx.RemoteProtocolError):
                async for piece in response.aiter_bytes():
                    received += piece
            assert received == b"half a body\n"


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_stalled_stream_is_a_read_timeout(server: Server, kind: str) -> None:
    async with client(kind, timeout=httpx.Timeout(30, read=0.3)) as http:
        async with http.stream("GET", f"{server.base_url}/stall") as response:
            with pytest.raises(httpx.ReadTimeout):
                async for _piece in response.aiter_bytes():
                    pass


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_no_response_in_time_is_a_read_timeout(server: Server, kind: str) -> None:
    async with client(kind, timeout=httpx.Timeout(30, read=0.3)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{server.base_url}/silent")


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_refused_connection_is_a_connect_error(kind: str) -> None:
    async with client(kind) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/")


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_connection_dropped_before_the_response_is_a_remote_protocol_error(
    server: Server, kind: str
) -> None:
    async with client(kind) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"{server.base_url}/drop")


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_httpx_decodes_and_redirects_and_the_request_arrives_whole(server: Server, kind: str) -> None:
    async with client(kind) as http:
        assert (await http.get(f"{server.base_url}/gzip")).content == b"unzipped once"
        response = await http.post(
            f"{server.base_url}/redirect", content=b'{"a": 1}', headers={"Authorization": "Bearer k"}
        )
        assert response.status_code == 200 and response.url.path == "/echo"
        echoed = response.json()
        assert echoed["method"] == "POST" and echoed["body"] == '{"a": 1}'  # a 307 keeps method and body
        assert echoed["headers"]["authorization"] == "Bearer k"  # same origin: kept
        assert "aiohttp" not in echoed["headers"].get("user-agent", "")  # httpx's headers, not aiohttp's


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_an_abandoned_stream_leaves_the_pool_usable(server: Server, kind: str) -> None:
    async with client(kind, timeout=httpx.Timeout(30, read=2)) as http:
        for _ in range(3):
            async with http.stream("GET", f"{server.base_url}/stall") as response:
                async for _piece in response.aiter_bytes():
                    break  # the member's reply was cancelled mid-answer
        assert (await http.get(f"{server.base_url}/gzip")).content == b"unzipped once"


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_the_sdk_raises_the_same_errors(server: Server, kind: str) -> None:
    async with client(kind, timeout=httpx.Timeout(30, read=0.3)) as http:
        sdk = openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="sk-test", http_client=http, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.response.headers["retry-after"] == "7"
        refused = openai.AsyncOpenAI(
            base_url=f"http://127.0.0.1:{free_port()}/v1", api_key="sk-test", http_client=http, max_retries=0
        )
        with pytest.raises(openai.APIConnectionError):
            await refused.models.list()
        silent = openai.AsyncOpenAI(
            base_url=f"{server.base_url}/silent", api_key="sk-test", http_client=http, max_retries=0, timeout=0.3
        )
        with pytest.raises(openai.APITimeoutError):
            await silent.models.list()


async def test_the_providers_use_the_aiohttp_transport_by_default() -> None:
    http = provider_http_client()
    try:
        assert isinstance(http._transport, AiohttpTransport)  # noqa: SLF001 - the choice under test
    finally:
        await http.aclose()
    provider = OpenAICompatibleProvider(Endpoint("local", "http://127.0.0.1:1/v1"), None)
    try:
        assert isinstance(provider._client._client._transport, AiohttpTransport)  # noqa: SLF001
    finally:
        await provider.aclose()


async def test_a_cut_provider_stream_on_aiohttp_is_explained_as_broken_off() -> None:
    pieces = [
        b'data: {"choices": [{"index": 0, "delta": {"content": "Once "}, "finish_reason": null}]}\n\n',
    ]

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    provider = OpenAICompatibleProvider(Endpoint("local", f"http://127.0.0.1:{port}/v1"), None)
    seen = []
    try:
        with pytest.raises((httpx.RemoteProtocolError, StreamCut)) as caught:
            async for part in provider.stream_chat("gpt-test", [{"role": "user", "content": "hi"}], {}):
                seen.append(part)
    finally:
        await provider.aclose()
        await runner.cleanup()
    assert seen == [TextDelta("Once ")]
    assert explain(caught.value, endpoint="local", model="gpt-test", redactor=Redactor()).kind == "stream_cut"


async def test_a_stream_closed_right_after_done_keeps_its_connection_for_the_next_request() -> None:
    peers: list = []

    async def sse(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: [DONE]\n\n")
        await asyncio.sleep(0.05)  # the body's last (empty) chunk comes a moment later
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/sse", sse)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with client("aiohttp") as http:
            for _ in range(3):
                async with http.stream("GET", f"http://127.0.0.1:{port}/sse") as response:
                    async for piece in response.aiter_bytes():
                        if b"[DONE]" in piece:
                            break  # what the SSE reader does
                await asyncio.sleep(0.2)  # the background drain finishes
    finally:
        await runner.cleanup()
    assert len(peers) == 3 and len(set(peers)) == 1  # one connection for the three requests


async def test_a_stream_abandoned_mid_answer_is_disconnected(server: Server) -> None:
    async with client("aiohttp", timeout=httpx.Timeout(30, read=5)) as http:
        async with http.stream("GET", f"{server.base_url}/stall") as response:
            async for _piece in response.aiter_bytes():
                break  # the reply was cancelled: the provider must see the connection go
        transport = http._transport  # noqa: SLF001
        assert isinstance(transport, AiohttpTransport)
        for _ in range(100):  # the drain gives up after DRAIN_SECONDS
            await asyncio.sleep(0.02)
            if not any(transport._session.connector._conns.values()) and not transport._session.connector._acquired:  # noqa: SLF001
                break
        connector = transport._session.connector  # noqa: SLF001
        assert not connector._acquired and not any(connector._conns.values())  # noqa: SLF001 - dropped, not pooled
