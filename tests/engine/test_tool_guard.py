"""The URL guard: SSRF payloads are refused before any request reaches a canary server; redirects
are re-checked hop by hop; size, type and redirect caps; the DNS check is cached per host."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Dict, List, Tuple

import pytest
from aiohttp import web

from skynet.engine.tools.guard import Refused, UrlGuard, is_public, parse_ip
from skynet.engine.tools.registry import ToolError


class Canary:
    """A local server that must never be reached by a refused URL; also serves test pages."""

    def __init__(self) -> None:
        self.hits: List[str] = []
        self.port = 0
        self.routes: Dict[str, web.StreamResponse] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path_qs)
        make = self.routes.get(request.path)
        if make is None:
            return web.Response(text="<html><body>canary</body></html>", content_type="text/html")
        response = make(request)
        return await response if asyncio.iscoroutine(response) else response

    async def __aenter__(self) -> "Canary":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


def fake_dns(table: Dict[str, List[str]], calls: List[str]):
    async def resolve(host: str) -> Tuple[List[str], float]:
        calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return table[host], 300.0

    return resolve


DNS = {
    "loopback.test": ["127.0.0.1"],
    "mixed.test": ["93.184.216.34", "10.0.0.5"],  # one bad answer is enough to refuse
    "metadata.test": ["169.254.169.254"],
    "v6loop.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "cgnat.test": ["100.64.1.1"],
}


@pytest.fixture
async def canary():
    async with Canary() as server:
        yield server


def payloads(port: int) -> List[str]:
    p = port
    return [
        f"http://127.0.0.1:{p}/",
        f"http://localhost:{p}/",
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://0/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://loopback.test/",
        "http://mixed.test/",
        "http://metadata.test/",
        "http://v6loop.test/",
        "http://mapped.test/",
        "http://cgnat.test/",
        "http://unknown.test/",
        f"http://loopback.test:{p}/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "http://user:pw@example.com/",
        "http://example.com:22/",
        "http://" + "a" * 2100 + ".com/",
        "http://127.0.0.1\\@example.com/",
        "http://example.com\\@127.0.0.1/",
        "http://127.0.0.1\t/",
        "http://exa mple.com@127.0.0.1/",
    ]


async def test_ssrf_payloads_are_refused_before_any_request(canary: Canary) -> None:
    guard = UrlGuard(resolve=fake_dns(DNS, []))
    try:
        urls = payloads(canary.port)
        assert len(urls) >= 20
        for url in urls:
            with pytest.raises(ToolError) as refused:
                await guard.fetch(url)
            assert refused.value.message, url
            assert "127.0.0.1" not in refused.value.message or url.startswith("gopher")
        assert canary.hits == []
    finally:
        await guard.aclose()


async def test_private_refusal_says_why() -> None:
    guard = UrlGuard(resolve=fake_dns(DNS, []))
    with pytest.raises(Refused, match="private network"):
        await guard.check("http://169.254.169.254/")
    with pytest.raises(Refused, match="http:// and https://"):
        await guard.check("javascript:alert(1)")
    with pytest.raises(Refused, match="doesn't resolve"):
        await guard.check("http://unknown.test/")
    public = UrlGuard(resolve=fake_dns({"xn--bcher-kva.test": ["93.184.216.34"]}, []))
    target = await public.check("https://bücher.test/page")  # international names are IDNA-encoded
    assert (target.host, target.port, target.addresses) == ("xn--bcher-kva.test", 443, ("93.184.216.34",))


async def test_redirects_to_internal_hosts_are_refused_hop_by_hop(canary: Canary) -> None:
    # The page server itself is allow-listed (an owner's intranet host); where it redirects is not.
    calls: List[str] = []
    guard = UrlGuard(
        resolve=fake_dns({"pages.test": ["127.0.0.1"], **DNS}, calls), allow=[f"pages.test:{canary.port}"]
    )
    targets = {
        "/to-ip": f"http://127.0.0.1:{canary.port}/secret",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-loopback-name": f"http://loopback.test:{canary.port}/secret",
        "/to-v6": "http://[::1]/secret",
        "/to-file": "file:///etc/passwd",
    }
    for path, location in targets.items():
        canary.routes[path] = lambda request, location=location: web.HTTPFound(location)
    try:
        for path in targets:
            with pytest.raises(ToolError):
                await guard.fetch(f"http://pages.test:{canary.port}{path}")
        # Only the allow-listed first hops arrived; no redirect target was ever requested.
        assert sorted(canary.hits) == sorted(targets)
    finally:
        await guard.aclose()


async def test_redirect_loop_size_and_binary_caps(canary: Canary) -> None:
    guard = UrlGuard(
        resolve=fake_dns({"pages.test": ["127.0.0.1"]}, []),
        allow=[f"pages.test:{canary.port}"],
        max_bytes=1000,
    )
    base = f"http://pages.test:{canary.port}"
    canary.routes["/loop"] = lambda request: web.HTTPFound("/loop")
    canary.routes["/big"] = lambda request: web.Response(text="x" * 5000, content_type="text/plain")
    canary.routes["/bin"] = lambda request: web.Response(body=b"\x89PNG", content_type="image/png")
    canary.routes["/ok"] = lambda request: web.Response(text="hello", content_type="text/plain")
    try:
        with pytest.raises(ToolError, match="redirects more than 5"):
            await guard.fetch(f"{base}/loop")
        assert canary.hits.count("/loop") == 6  # the first request + 5 redirects
        with pytest.raises(ToolError, match="larger than"):
            await guard.fetch(f"{base}/big")
        with pytest.raises(ToolError, match="isn't text"):
            await guard.fetch(f"{base}/bin")
        page = await guard.fetch(f"{base}/ok")
        assert page.text == "hello" and page.status == 200
    finally:
        await guard.aclose()


async def test_slow_pages_time_out(canary: Canary) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(b"first bytes")
        await asyncio.sleep(5)
        return response

    canary.routes["/slow"] = lambda request: slow(request)
    guard = UrlGuard(
        resolve=fake_dns({"pages.test": ["127.0.0.1"]}, []), allow=[f"pages.test:{canary.port}"], timeout=0.3
    )
    try:
        with pytest.raises(ToolError, match="took too long"):
            await guard.fetch(f"http://pages.test:{canary.port}/slow")
    finally:
        await guard.aclose()


async def test_dns_answers_are_cached_for_their_lifetime_and_connections_use_them(canary: Canary) -> None:
    now = [0.0]
    calls: List[str] = []
    guard = UrlGuard(
        resolve=fake_dns({"pages.test": ["127.0.0.1"]}, calls),
        allow=[f"pages.test:{canary.port}"],
        clock=lambda: now[0],
    )
    try:
        for _ in range(3):
            await guard.fetch(f"http://pages.test:{canary.port}/ok")
        # One lookup for check + connect of three fetches: aiohttp's connection used the vetted answer.
        assert calls == ["pages.test"]
        now[0] += 301  # past the record's 300 s lifetime
        await guard.fetch(f"http://pages.test:{canary.port}/ok")
        assert calls == ["pages.test", "pages.test"]
    finally:
        await guard.aclose()


async def test_rebinding_answer_is_never_connected() -> None:
    """The first answer is public, the second private: the check and the connection share one answer."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]

    async def rebinding(host: str):
        return answers.pop(0), 0.0  # TTL 0: the cache keeps it at least 1 s

    guard = UrlGuard(resolve=rebinding)
    target = await guard.check("https://rebind.test/")
    assert target.addresses == ("93.184.216.34",)
    assert await guard.vetted("rebind.test") == ("93.184.216.34",)  # the connection's lookup
    assert answers == [["127.0.0.1"]]


@pytest.mark.parametrize(
    "host, expected",
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("1e100.net", None),
    ],
)
def test_ip_forms(host: str, expected) -> None:
    ip = parse_ip(host)
    assert (str(ip) if ip else None) == expected


def test_public_ranges() -> None:
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))
    for bad in ("::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "100.64.0.1", "255.255.255.255", "::"):
        assert not is_public(ipaddress.ip_address(bad)), bad
