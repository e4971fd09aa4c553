"""An httpx transport that makes its requests with aiohttp: the ``openai`` SDK stays the client.

Why: httpx's own transport (httpcore + anyio + h11) costs ~0.3 ms of CPU per network read, and a
streamed answer whose chunks arrive spaced out is one read per chunk; at a few hundred concurrent
replies that receive path was ~40 % of the bot's CPU. aiohttp (already loaded: Red and discord.py
use it) reads in a protocol callback and hands the bytes over through one future, about a tenth of
the cost (``bench/transport.py``). The ready ``httpx-aiohttp`` package needs aiohttp >= 3.10, which
Red 3.5 does not allow, hence this module.

Only the wire goes through aiohttp. Everything above it is httpx and the SDK as before: headers,
auth, redirects, cookies, content decoding, the SDK's errors and retry policy, response types.
The contract with them is httpx's: the same exceptions for the same faults
(``ConnectError``/``ConnectTimeout`` before the response, ``ReadTimeout`` when a read waits longer
than the read timeout, ``RemoteProtocolError`` when the server cuts the body or disconnects), and
the timeouts of ``httpx.Timeout`` (``connect``, ``read`` per read, ``pool``; ``write`` is not
enforced, bodies here are small JSON documents).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import AsyncIterator, Dict, Iterator, Optional

import aiohttp
import httpx
from yarl import URL

# Headers aiohttp computes itself from the body and the URL.
_COMPUTED_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
# Headers aiohttp would add when absent: httpx's client already sets what it wants.
_NO_AUTO_HEADERS = ("User-Agent", "Accept-Encoding", "Accept", "Content-Type")


_tls_contexts: Dict[bool, ssl.SSLContext] = {}


def default_tls_context(trust_env: bool = True) -> ssl.SSLContext:
    """httpx's own default trust store (certifi), so certificates verify exactly as with httpx.

    Made once per process and shared: loading the certificates blocks for ~35 ms (measured with
    cProfile: a third of a ``[p]load`` once the modules are imported), and a context only reads
    its settings when a connection is made, so clients can share one.
    """
    context = _tls_contexts.get(trust_env)
    if context is None:
        context = _tls_contexts[trust_env] = httpx.create_ssl_context(trust_env=trust_env)
    return context


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=AiohttpTransport())``: one aiohttp connection pool.

    The aiohttp session is created on the first request (inside the running event loop); the TLS
    context, the costly part (blocking certificate loading), once per process.
    """

    def __init__(
        self,
        *,
        max_connections: int = 1000,
        keepalive_expiry: float = 5.0,
        ssl_context: Optional[ssl.SSLContext] = None,
        trust_env: bool = True,
    ) -> None:
        self._ssl = ssl_context if ssl_context is not None else default_tls_context(trust_env)
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._trust_env = trust_env
        self._session: Optional[aiohttp.ClientSession] = None

    def _client_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._ssl,
            )
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes the body by its Content-Encoding
                trust_env=self._trust_env,
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._client_session()
        body = await request.aread()
        headers = [
            (name, value) for name, value in request.headers.multi_items() if name.lower() not in _COMPUTED_HEADERS
        ]
        with _httpx_errors(request, connecting=True):
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                data=body or None,
                headers=headers,
                allow_redirects=False,  # httpx follows redirects itself
                timeout=_client_timeout(request.extensions.get("timeout") or {}),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_ResponseBody(response, request),
            extensions={
                "http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode(),
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


# A streamed answer (server-sent events) is read at most this often: reading from the socket is
# paused in between, so the chunks a provider sends meanwhile arrive in one read. Every read costs an
# event-loop wake-up, a ``recv``, aiohttp's read-timeout reset and a pass through the SDK's and the
# cog's generators: nearly all of an answer's CPU once it lasts seconds (a 1,600-character answer
# costs 18 ms sent in 0.2 s; spread over 8 s, ~100 ms read every 50 ms, ~50 ms read as below;
# ``bench/answer_tail.py``). Only sleeping between reads, with the socket still read into aiohttp's
# buffer, saves little: pausing is what saves the wake-ups. Discord shows the text every 1.5 s at
# most, so 200 ms later is unseen while the answer streams, and the complete answer is still shown
# within 0.2 s of the provider's last token (the goal: 0.3 s). The first chunk is never held back,
# and a stream's first two seconds are read every 50 ms: a short answer is complete at once (and
# the test suite, whose streams are short, waits for none of it: 0.5 s made it 25 % slower).
# aiohttp's read timeout is stopped while reading is paused (``pause_reading`` drops it,
# ``resume_reading`` starts it again).
COALESCE_SECONDS = 0.2
EARLY_SECONDS, EARLY_COALESCE_SECONDS = 2.0, 0.05


class _ResponseBody(httpx.AsyncByteStream):
    """The body as aiohttp receives it: whatever bytes arrived since the last read."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        connection = self._response.connection
        protocol = connection.protocol if connection is not None else None
        coalesce = self._response.content_type == "text/event-stream" and protocol is not None
        loop = asyncio.get_running_loop()
        first_read = last_read = None
        with _httpx_errors(self._request, connecting=False):
            while True:
                if last_read is not None and coalesce and not content.is_eof():
                    early = last_read - first_read < EARLY_SECONDS
                    wait = last_read + (EARLY_COALESCE_SECONDS if early else COALESCE_SECONDS) - loop.time()
                    if wait > 0:
                        protocol.pause_reading()  # the kernel keeps what arrives meanwhile
                        try:
                            await asyncio.sleep(wait)
                        finally:
                            protocol.resume_reading()
                data = await content.readany()
                if not data:
                    return
                last_read = loop.time()
                if first_read is None:
                    first_read = last_read
                yield data

    async def aclose(self) -> None:
        response = self._response
        if response.content.is_eof() or response.closed:
            response.release()  # the whole body was read: the connection goes back to the pool
        elif response.content.exception() is None:
            # Closed before the end: usually right after ``data: [DONE]``, with only the body's
            # last (empty) chunk still on its way. Reading it in the background keeps the
            # connection for the next request (no new TCP and TLS handshake); a body that goes on
            # (a reply cancelled mid-answer) is dropped after DRAIN_BYTES or DRAIN_SECONDS.
            asyncio.get_running_loop().create_task(_drain_then_release(response), name="skynet-http-drain")
        else:
            response.close()


DRAIN_SECONDS = 0.5
DRAIN_BYTES = 16_384


async def _drain_then_release(response: aiohttp.ClientResponse) -> None:
    content = response.content
    read = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while read <= DRAIN_BYTES:
                data = await content.readany()
                if not data:
                    break
                read += len(data)
    except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
        pass
    finally:
        if content.is_eof() and content.exception() is None:
            response.release()
        else:
            response.close()


def _client_timeout(timeout: Dict[str, Optional[float]]) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts in aiohttp's terms: ``read`` applies to each socket read (so a
    stream stalled that long fails, however long it already ran), ``connect`` to opening a
    connection, ``pool`` + ``connect`` to getting one from the pool."""
    connect, pool = timeout.get("connect"), timeout.get("pool")
    acquire = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=timeout.get("read"))


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request, *, connecting: bool) -> Iterator[None]:
    """Raise the httpx exception httpx's own transport raises for the same fault."""
    try:
        yield
    except aiohttp.ServerTimeoutError as exc:
        if connecting and str(exc).startswith("Connection timeout"):
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except asyncio.TimeoutError as exc:  # waiting for a free connection of the pool
        raise httpx.PoolTimeout("timed out waiting for a connection", request=request) from exc
    except aiohttp.ClientProxyConnectionError as exc:
        raise httpx.ProxyError(str(exc), request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS handshake
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response." if connecting else str(exc) or "server disconnected",
            request=request,
        ) from exc
    except aiohttp.ClientPayloadError as exc:  # the body was cut (incomplete chunked or sized body)
        raise httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body ({exc})", request=request
        ) from exc
    except aiohttp.ClientResponseError as exc:  # unparsable status line or headers
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientOSError as exc:  # reset by peer, broken pipe
        error = httpx.ConnectError if connecting else httpx.ReadError
        raise error(str(exc) or type(exc).__name__, request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc


def provider_http_client() -> httpx.AsyncClient:
    """The ``openai`` SDK's default HTTP client (its timeouts, limits, redirects) on this transport."""
    import openai  # the SDK's defaults; imported here so this module stays usable without it

    return openai.DefaultAsyncHttpxClient(transport=AiohttpTransport())
