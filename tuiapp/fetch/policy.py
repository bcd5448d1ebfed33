"""Where the fetcher may connect: the outbound address policy, applied at connect time.

Remote answers are hostile: a search result, a redirect or a name that re-resolves may point at
this machine (loopback), the local network (RFC 1918, ULA, link-local with the cloud metadata
service on 169.254.169.254), the carrier's NAT (CGNAT) or addresses that are not hosts at all
(multicast, unspecified, reserved). The check runs on the addresses a connection is about to use,
inside the connector, so every redirect hop and every DNS answer is covered; a pooled connection
is checked again by its peer address before it is reused for a request.

Allowed anyway:

- the origins the user named, by host and port (``settings.base_urls`` values, the ``allow``
  given to the fetcher, and per task tree with :func:`allowing`, e.g. a URL typed as the query);
- everything, when ``allow_private_networks`` is set (``TUIAPP_ALLOW_PRIVATE_NETWORKS``).

An origin is allowed by exact host and port, not by host alone: naming ``http://127.0.0.1:8000``
(a local mirror) must not open ``127.0.0.1:6379`` or this program's own API to whatever the
mirror relays. The scheme is not part of the check: the connector sees host and port only, and
the same host and port over http or https reach the same service.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from tuiapp.errors import BlockedAddressError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from aiohttp.abc import ResolveResult
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace

__all__ = ["GuardedConnector", "allowing", "check_scheme", "origin_of", "refusal"]

Origin = tuple[str, int]
"""Lower-case host (IPv6 without brackets) and port."""

_ALLOWED_SCHEMES = frozenset({"http", "https"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_task_allowed: contextvars.ContextVar[frozenset[Origin]] = contextvars.ContextVar(
    "tuiapp_fetch_allowed", default=frozenset()
)


def origin_of(url: str | URL) -> Origin | None:
    """The (host, port) of an http(s) URL; None for other URLs or URLs without a host."""
    u = url if isinstance(url, URL) else URL(url)
    if u.scheme not in _ALLOWED_SCHEMES or not u.raw_host or u.port is None:
        return None
    return (u.raw_host.lower().rstrip("."), u.port)


def check_scheme(url: str | URL) -> None:
    """Raises BlockedAddressError for anything but an http(s) URL."""
    if isinstance(url, str) and url[:8].lower().startswith(("http://", "https://")):
        return  # the common case, without parsing the URL (once per file downloaded)
    u = url if isinstance(url, URL) else URL(url)
    if u.scheme not in _ALLOWED_SCHEMES:
        raise BlockedAddressError(f"refused: {u.scheme or 'a URL without a'}:// is not http(s)")


@contextlib.contextmanager
def allowing(urls: Iterable[str]) -> Iterator[None]:
    """Allow the origins of ``urls`` for fetches made in this context and the tasks it starts.

    For origins the user named for one job only (a URL typed as the query): other jobs, and
    other users' jobs, do not inherit them.
    """
    extra = {o for o in map(origin_of, urls) if o is not None}
    token = _task_allowed.set(_task_allowed.get() | extra)
    try:
        yield
    finally:
        _task_allowed.reset(token)


def refusal(address: str) -> str | None:
    """Why a connection to ``address`` (an IP literal) is refused; None when it is a public one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 reaches the IPv4 host: judge that one.
        embedded = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if embedded is not None:
            return refusal(str(embedded))
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a shared (CGNAT) address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a global address"),
    )
    for hit, why in checks:
        if hit:
            return why
    return None


class GuardedConnector(aiohttp.TCPConnector):
    """A connector that refuses non-public addresses unless their origin was named.

    ``_resolve_host`` is where aiohttp turns a host (a name or an IP literal) into the addresses
    it will connect to, on every new connection, cached DNS answers included; the refusal happens
    there, before any packet is sent to the address.
    """

    def __init__(
        self, *, allowed: Iterable[str] = (), allow_everything: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._allowed = frozenset(o for o in map(origin_of, allowed) if o is not None)
        self._allow_everything = allow_everything

    def allows(self, host: str, port: int) -> bool:
        """Whether ``host:port`` was named, so that any address it resolves to may be used."""
        if self._allow_everything:
            return True
        origin = (host.lower().strip("[]").rstrip("."), port)
        return origin in self._allowed or origin in _task_allowed.get()

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host:port`` may use, resolved once and checked.

        For the browser transport, which pins curl to one of them: the same resolver, cache
        and refusals as this connector's own connections.

        Raises:
            BlockedAddressError: every address is refused.
        """
        return [str(r["host"]) for r in await self._resolve_host(host, port)]

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        if self.allows(host, port):
            return results
        kept = [r for r in results if refusal(r["host"]) is None]
        if not kept:
            address = results[0]["host"] if results else host
            raise BlockedAddressError(
                f"refused: {address} is {refusal(address) or 'not reachable'}"
                + (f" ({host} resolves to it)" if address != host else "")
            )
        return kept

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 -- aiohttp's signature, overridden
    ) -> aiohttp.connector.Connection:
        conn = await super().connect(req, traces, timeout)
        host, port = req.url.raw_host or "", req.port or 0
        if self.allows(host, port):
            return conn
        proxy = req.proxy
        if proxy is not None and self.allows(proxy.raw_host or "", proxy.port or 0):
            return conn  # what a named proxy reaches is the proxy's business
        # A pooled connection may have been opened while another task allowed this origin.
        transport = conn.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        why = refusal(str(peer[0])) if peer else None
        if why is not None:
            conn.close()
            raise BlockedAddressError(f"refused: {peer[0]} is {why}")  # type: ignore[index]
        return conn
