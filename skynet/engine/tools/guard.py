"""The one URL guard: every page fetched for a user or the model goes through it.

- http/https only, default ports (80/443) unless the host is on the owner's allow-list;
- the host's every DNS answer (or the IP literal, in any notation: ``127.1``, ``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``) must be a public address: private, loopback,
  link-local, multicast, reserved, unspecified, CGNAT and cloud-metadata ranges are refused;
- the connection goes to the vetted address: aiohttp resolves through :class:`PinnedResolver`,
  which answers only from the guard's checked cache, so a second DNS answer (rebinding) is never used;
- redirects are followed by hand and re-checked hop by hop (at most 5);
- size (2 MB) and time are capped; the DNS check is cached per host for the record's lifetime.

Owner-configured service URLs (SerpAPI, SearXNG, Firecrawl base URLs) are trusted and do not
pass through here; the URL handed to Firecrawl does (:meth:`UrlGuard.check`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver

from ..i18n import _
from .registry import ToolError

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
# A resolver returns the host's addresses and their lifetime in seconds.
Resolve = Callable[[str], Awaitable[Tuple[List[str], float]]]

MAX_URL_CHARS = 2000
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = 15.0
MAX_REDIRECTS = 5
DEFAULT_TTL = 60.0  # getaddrinfo gives no TTL; the cache keeps answers this long
DEFAULT_PORTS = {"http": 80, "https": 443}
TEXT_TYPES = ("text/", "application/xhtml+xml", "application/xml", "application/json", "application/rss+xml")

_BLOCKED_NETWORKS = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT (also Alibaba's metadata 100.100.100.200)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local, incl. AWS metadata fd00:ec2::254
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "100::/64",
        "2001:db8::/32",
    )
]


class Refused(ToolError):
    """The guard refused a URL; the message says why, in words a user understands."""

    def __init__(self, message: str, kind: str = "refused") -> None:
        super().__init__(message, kind)


def private_refusal() -> Refused:
    return Refused(_("That address is on a private network; I can't fetch it."), "private_address")


def malformed_refusal() -> Refused:
    return Refused(_("That address is malformed; I can't fetch it."), "bad_url")


def invalid_host_refusal() -> Refused:
    return Refused(_("That host name isn't valid."), "bad_url")


def parse_ip(host: str) -> Optional[IPAddress]:
    """``host`` as an IP address if it is one in any notation a resolver or browser accepts
    (dotted, decimal, octal, hex and short IPv4 forms; IPv6 with or without brackets)."""
    host = host.strip().rstrip(".").strip("[]").lower()
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", p) for p in parts):
        return None
    numbers = []
    for part in parts:
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not re.fullmatch(r"[0-7]+", part):
                raise malformed_refusal()
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    # inet_aton: the last part fills the remaining bytes (127.1 = 127.0.0.1)
    value, head = 0, numbers[:-1]
    if any(n > 255 for n in head) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise malformed_refusal()
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(numbers)) + numbers[-1]
    return ipaddress.IPv4Address(value)


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses (IPv4 inside IPv6 is unwrapped)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and int(ip) >> 32 == 0:  # IPv4-compatible ::a.b.c.d
            embedded = ipaddress.IPv4Address(int(ip))
        if embedded is not None and not is_public(embedded):
            return False
    if any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version):
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


async def system_resolve(host: str) -> Tuple[List[str], float]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos)), DEFAULT_TTL


@dataclass(frozen=True)
class Target:
    """A checked URL: where the connection will go."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: Tuple[str, ...]
    allow_listed: bool = False


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    charset: Optional[str] = None

    @property
    def text(self) -> str:
        return self.body.decode(self.charset or "utf-8", errors="replace")


class UrlGuard:
    """Checks URLs and fetches pages safely. ``resolve`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        *,
        resolve: Resolve = system_resolve,
        allow: Iterable[str] = (),
        max_bytes: int = MAX_BYTES,
        timeout: float = TIMEOUT,
        max_redirects: int = MAX_REDIRECTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self.allow: Tuple[str, ...] = tuple(a.lower() for a in allow)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self._clock = clock
        self._dns: Dict[str, Tuple[float, Tuple[str, ...], Optional[str]]] = {}
        self._session: Optional[aiohttp.ClientSession] = None
        self.resolutions = 0  # DNS lookups actually made (the cache's misses)

    # -- checking ---------------------------------------------------------------------------------

    def _allow_listed(self, host: str, port: int, default_port: bool) -> bool:
        return f"{host}:{port}" in self.allow or (default_port and host in self.allow)

    async def check(self, url: str) -> Target:
        """Refuse ``url`` unless it is a public http(s) address on an allowed port."""
        url = url.strip()
        if len(url) > MAX_URL_CHARS:
            raise Refused(_("That URL is too long (over {limit} characters).").format(limit=MAX_URL_CHARS), "bad_url")
        if any(ord(ch) < 33 or ch == "\\" for ch in url):  # parsers disagree on these
            raise Refused(_("That URL contains spaces, control characters or backslashes."), "bad_url")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise Refused(_("That isn't a valid URL."), "bad_url") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise Refused(_("Only http:// and https:// addresses can be fetched."), "bad_url")
        host = (parts.hostname or "").rstrip(".").lower()
        if host and not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise invalid_host_refusal() from None
        if not host:
            raise Refused(_("That URL has no host name."), "bad_url")
        if parts.username is not None or parts.password is not None:
            raise Refused(_("URLs with a user name or password can't be fetched."), "bad_url")
        port = port if port is not None else DEFAULT_PORTS[scheme]
        default_port = port == DEFAULT_PORTS[scheme]
        allow_listed = self._allow_listed(host, port, default_port)
        if not default_port and not allow_listed:
            raise Refused(
                _(
                    "Port {port} isn't allowed; only the standard web ports can be fetched "
                    "(the bot owner can allow a host and port)."
                ).format(port=port),
                "bad_port",
            )
        literal = parse_ip(host)
        if literal is not None:
            if not allow_listed and not is_public(literal):
                raise private_refusal()
            return Target(url, scheme, host, port, (str(literal),), allow_listed)
        if not re.fullmatch(r"[a-z0-9_.-]+", host) or ".." in host or len(host) > 253:
            raise invalid_host_refusal()
        addresses = await self.vetted(host, allow_listed=allow_listed)
        return Target(url, scheme, host, port, addresses, allow_listed)

    async def vetted(self, host: str, *, allow_listed: bool = False) -> Tuple[str, ...]:
        """The host's addresses, all checked; cached per host for the answer's lifetime."""
        now = self._clock()
        cached = self._dns.get(host)
        if cached is None or cached[0] <= now:
            self.resolutions += 1
            try:
                addresses, ttl = await asyncio.wait_for(self._resolve(host), self.timeout)
            except (OSError, asyncio.TimeoutError, UnicodeError):
                addresses, ttl = [], 30.0
            problem = None
            if not addresses:
                problem = "unresolvable"
            else:
                for address in addresses:
                    ip = parse_ip(address)
                    if ip is None or not is_public(ip):
                        problem = "private"
                        break
            cached = (now + max(1.0, float(ttl)), tuple(addresses), problem)
            self._dns[host] = cached
            if len(self._dns) > 5000:
                self._dns.pop(next(iter(self._dns)))
        _expires, addresses, problem = cached
        if problem == "unresolvable":
            raise Refused(_("I couldn't find that host name (it doesn't resolve)."), "unresolvable")
        if problem == "private" and not allow_listed:
            raise private_refusal()
        return addresses

    # -- fetching ---------------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=PinnedResolver(self), use_dns_cache=False, limit=50)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": "skynet-cog/0.1 (+Red-DiscordBot)"}
            )
        return self._session

    async def fetch(self, url: str, *, accept_binary: bool = False, max_bytes: Optional[int] = None) -> Page:
        """GET ``url`` with every hop checked; raise :class:`Refused` or ``ToolError`` otherwise.
        ``max_bytes`` overrides the guard's size cap for this fetch (documents have their own)."""
        try:
            return await asyncio.wait_for(
                self._fetch(url, accept_binary, max_bytes or self.max_bytes), self.timeout
            )
        except asyncio.TimeoutError:
            raise ToolError(_("The page took too long to load."), "timeout") from None

    async def _fetch(self, url: str, accept_binary: bool, max_bytes: int) -> Page:
        session = self._get_session()
        for _hop in range(self.max_redirects + 1):
            target = await self.check(url)
            # aiohttp parses the URL again (yarl): it must agree on where the connection goes.
            parsed = yarl.URL(target.url, encoded=False)
            if (parsed.raw_host or "").rstrip(".").lower() != target.host or (parsed.port != target.port):
                raise Refused(_("That URL is ambiguous; I can't fetch it."), "bad_url")
            try:
                async with session.get(
                    target.url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=self.timeout)
                ) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        url = urljoin(target.url, response.headers["Location"])
                        continue
                    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    if not accept_binary and content_type and not content_type.startswith(TEXT_TYPES):
                        raise ToolError(
                            _("That page isn't text (it is `{type}`).").format(type=content_type[:60]), "binary"
                        )
                    length = response.headers.get("Content-Length")
                    if length and length.isdigit() and int(length) > max_bytes:
                        raise ToolError(self._too_big(max_bytes), "too_large")
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(65536):
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise ToolError(self._too_big(max_bytes), "too_large")
                    if response.status >= 400:
                        raise ToolError(
                            _("The page answered with HTTP {status}.").format(status=response.status), "http_error"
                        )
                    return Page(
                        str(response.url), response.status, content_type, bytes(body), response.charset
                    )
            except asyncio.TimeoutError:  # aiohttp's read timeouts are ClientErrors too
                raise ToolError(_("The page took too long to load."), "timeout") from None
            except (aiohttp.ClientError, OSError) as exc:
                if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, Refused):
                    raise exc.os_error from None
                raise ToolError(_("I couldn't connect to that page."), "connect_error") from None
        raise ToolError(
            _("That page redirects more than {count} times.").format(count=self.max_redirects), "redirect_loop"
        )

    def _too_big(self, max_bytes: int) -> str:
        return _("That page is larger than {size} MB; I stopped reading it.").format(
            size=max_bytes // (1024 * 1024) or 1
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver for guarded fetches: answers only with the guard's vetted addresses."""

    def __init__(self, guard: UrlGuard) -> None:
        self._guard = guard

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> List[Dict[str, Any]]:
        port_default = port in DEFAULT_PORTS.values()
        allow_listed = self._guard._allow_listed(host.lower(), port, port_default)
        try:
            addresses: Sequence[str] = await self._guard.vetted(host.lower(), allow_listed=allow_listed)
        except Refused as exc:
            raise OSError(str(exc)) from exc
        hosts = []
        for address in addresses:
            ip = ipaddress.ip_address(address)
            hosts.append(
                {
                    "hostname": host,
                    "host": address,
                    "port": port,
                    "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return hosts

    async def close(self) -> None:
        pass
