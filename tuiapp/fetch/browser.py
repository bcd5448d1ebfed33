"""Page requests made as a browser makes them: curl_cffi's TLS handshake, HTTP/2 and headers.

Search sites judge a client by its TLS ClientHello before they read a header: Python's handshake
under a Chrome User-Agent is refused (Google answers 403, DuckDuckGo refuses the token, Yandex
shows its captcha first). A source that declares a :class:`~tuiapp.sources.base.Browser` has its
page and token requests sent here, through curl_cffi impersonating that browser: the browser's
ClientHello (GREASE, its extension list and order), its HTTP/2 settings over TLS, and the
headers it sends, User-Agent included (a User-Agent a source passes is dropped: it could only
disagree with the handshake). Plain http goes out as HTTP/1.1, as a browser sends it.

curl_cffi (a C library) is imported at the first request, never when tuiapp starts: jobs that
use no such source never load it.

The address policy is the aiohttp path's own (``policy.GuardedConnector``): redirects are not
left to curl but followed here, one hop at a time; each hop's host is resolved through the
guarded connector (same resolver, same cache, same refusals) and curl is pinned to the checked
address (``CURLOPT_RESOLVE``), so a name is resolved once and a second answer cannot slip in.
Through a proxy that resolves names (http(s), ``socks5h``), only the proxy is connected to: it
was named by the user, and what it reaches is its business.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit

from tuiapp.errors import (
    BlockedAddressError,
    FormatChangedError,
    NetworkError,
    ProxyUnreachableError,
    SourceError,
    StalledError,
    UnreachableError,
)
from tuiapp.fetch.body import MAX_PAGE_SIZE, Page, redact
from tuiapp.fetch.policy import check_scheme
from tuiapp.sources.handshakes import handshake_available

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from tuiapp.proxies import Proxy
    from tuiapp.sources.base import Browser

__all__ = ["MAX_REDIRECTS", "BrokenConnection", "BrowserTransport", "handshake_available"]

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10
MAX_SESSIONS = 32
"""curl sessions kept open (one per pinned address: a site's pages reuse their connections)."""
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SCRIPT_HEADERS: dict[str, str | None] = {
    # What a page's own script sends with fetch(): no navigation headers.
    "Upgrade-Insecure-Requests": None,
    "Sec-Fetch-User": None,
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
}


class BrokenConnection(NetworkError):
    """The connection broke after it was made (reset, closed mid-answer): worth a retry."""


@dataclass(slots=True)
class _Pin:
    """Where one hop goes: the proxy, or the checked address curl must connect to."""

    proxy: Proxy | None
    resolve: tuple[str, ...]
    """``host:port:address`` entries for ``CURLOPT_RESOLVE`` (none for an IP literal)."""


class BrowserTransport:
    """GETs pages through curl_cffi as a browser, under the fetcher's address policy.

    Args:
        addresses: (host, port) -> the addresses a connection may use, checked by the policy
            (raises ``BlockedAddressError``); the guarded connector's.
        proxy_for: URL -> the proxy that carries it, or None.
        timeout: seconds to connect, and longest wait between bytes.
    """

    def __init__(
        self,
        addresses: Callable[[str, int], Awaitable[list[str]]],
        proxy_for: Callable[[str], Proxy | None],
        timeout: float,
    ) -> None:
        self._addresses = addresses
        self._proxy_for = proxy_for
        self._timeout = timeout
        self._sessions: dict[tuple[str, ...], Any] = {}
        self._busy: dict[tuple[str, ...], int] = {}

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    async def _session(self, resolve: tuple[str, ...]) -> Any:
        """One curl session per pinned address set: connections are reused, pins never mixed.

        At most :data:`MAX_SESSIONS` are kept; the oldest idle one goes first.
        """
        session = self._sessions.pop(resolve, None)
        if session is None:
            try:
                from curl_cffi import CurlOpt
                from curl_cffi.requests import AsyncSession
            except (ImportError, OSError) as exc:  # a broken install: say so, not "crashed"
                raise SourceError(f"curl_cffi cannot be loaded ({exc}); reinstall tuiapp") from None

            options = {CurlOpt.RESOLVE: list(resolve)} if resolve else {}
            session = AsyncSession(trust_env=False, max_clients=8, curl_options=options)
            idle = [k for k in self._sessions if not self._busy.get(k)]
            if len(self._sessions) >= MAX_SESSIONS and idle:
                await self._sessions.pop(idle[0]).close()
        self._sessions[resolve] = session  # the most recently used last
        return session

    async def _pin(self, url: str) -> _Pin:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        proxy = self._proxy_for(url)
        if proxy is not None and proxy.remote_names:
            return _Pin(proxy, ())
        addresses = await self._addresses(host, port)  # the policy's refusal is raised here
        if _is_ip(host):
            return _Pin(proxy, ())
        address = addresses[0]
        shown = f"[{address}]" if ":" in address else address
        return _Pin(proxy, (f"{host}:{port}:{shown}",))

    async def get(
        self,
        url: str,
        *,
        browser: Browser,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Page:
        """GET ``url`` as ``browser``, following redirects hop by hop; the page fully read.

        Raises:
            FetchError: a subclass, as the aiohttp path raises them.
            FormatChangedError: the page is larger than ``MAX_PAGE_SIZE``.
        """
        if not handshake_available(browser.target):
            raise SourceError(
                f"cannot ask as {browser.target}: curl_cffi is missing or does not know this"
                " browser; reinstall tuiapp"
            )
        if params:
            url += ("&" if urlsplit(url).query else "?") + urlencode(
                {k: str(v) for k, v in params.items()}
            )
        sent: dict[str, str | None] = {
            k: v or None for k, v in (headers or {}).items() if k.lower() != "user-agent"
        }
        if browser.request == "script":
            sent = {**_SCRIPT_HEADERS, **sent}
        for _ in range(MAX_REDIRECTS + 1):
            check_scheme(url)
            page = await self._once(url, browser, sent)
            location = page.header("location")
            if page.status not in _REDIRECTS or not location:
                return page
            url = urljoin(url, location)
            if urlsplit(url).scheme not in ("http", "https"):
                raise BlockedAddressError(
                    f"refused: {redact(page.url)} redirected to a non-http(s) URL"
                )
        raise NetworkError(f"too many redirects from {redact(url)}")

    async def _once(self, url: str, browser: Browser, headers: dict[str, str | None]) -> Page:
        shown = redact(url)
        pin = await self._pin(url)
        session = await self._session(pin.resolve)
        from curl_cffi import CurlHttpVersion
        from curl_cffi.requests.exceptions import RequestException

        secure = url.startswith("https:")
        self._busy[pin.resolve] = self._busy.get(pin.resolve, 0) + 1
        try:
            async with session.stream(
                "GET",
                url,
                headers=headers,
                impersonate=browser.target,
                default_headers=True,
                http_version=None if secure else CurlHttpVersion.V1_1,
                proxy=pin.proxy.url if pin.proxy is not None else None,
                allow_redirects=False,
                timeout=self._timeout,
                discard_cookies=True,
            ) as resp:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > MAX_PAGE_SIZE:
                    raise _too_large(shown)
                body = bytearray()
                async for piece in resp.aiter_content():
                    body += piece
                    if len(body) > MAX_PAGE_SIZE:
                        raise _too_large(shown)
                return Page(
                    status=resp.status_code,
                    url=url,
                    headers={k.lower(): v for k, v in resp.headers.items() if v is not None},
                    body=bytes(body),
                )
        except (SourceError, FormatChangedError):
            raise
        except RequestException as exc:
            raise _translate(exc, url, pin.proxy) from exc
        finally:
            left = self._busy.pop(pin.resolve, 1) - 1
            if left:
                self._busy[pin.resolve] = left


def _too_large(url: str) -> FormatChangedError:
    return FormatChangedError(f"{url} sent more than {MAX_PAGE_SIZE:,} bytes for a page; not read")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _translate(exc: Any, url: str, proxy: Proxy | None) -> SourceError:
    """curl's error as ours: the proxy named when it is the proxy that failed."""
    from curl_cffi.const import CurlECode

    code = getattr(exc, "code", 0)
    text = str(exc)
    shown = redact(url)
    host = urlsplit(url).hostname or shown
    if proxy is not None:
        if "CONNECT tunnel failed" in text:
            return ProxyUnreachableError(proxy.address, _proxy_reason(text))
        if code in (CurlECode.COULDNT_RESOLVE_PROXY, CurlECode.COULDNT_CONNECT):
            refused = code == CurlECode.COULDNT_CONNECT
            why = "connection refused" if refused else "name not resolved"
            return ProxyUnreachableError(proxy.address, why)
        if code == CurlECode.PROXY or "CONNECT" in text or "proxy" in text.lower():
            return ProxyUnreachableError(proxy.address, _proxy_reason(text))
    if code == CurlECode.COULDNT_RESOLVE_HOST:
        return UnreachableError(host, "name not resolved")
    if code == CurlECode.COULDNT_CONNECT:
        return UnreachableError(host, "connection refused")
    if code == CurlECode.SSL_CONNECT_ERROR or code == CurlECode.PEER_FAILED_VERIFICATION:
        return UnreachableError(host, "TLS failed")
    if code == CurlECode.OPERATION_TIMEDOUT:
        return StalledError(f"{shown} sent nothing for REQUEST_TIMEOUT; abandoned")
    if code in _BROKEN:
        return BrokenConnection(f"connection to {shown} failed: {_short(text)}")
    return NetworkError(f"connection to {shown} failed: {_short(text)}")


_BROKEN = frozenset({52, 55, 56, 18, 92})
"""curl's GOT_NOTHING, SEND_ERROR, RECV_ERROR, PARTIAL_FILE, HTTP2_STREAM: a connection made,
then lost; the aiohttp path retries the same failures."""


def _proxy_reason(text: str) -> str:
    match = re.search(r"response (\d{3})", text)
    if match:
        return f"it answered HTTP {match.group(1)} to CONNECT"
    return _short(text)


def _short(text: str) -> str:
    """curl's message without its error-page link."""
    text = re.sub(r"\s*See https://curl\.se/\S+", "", text)
    text = re.sub(r"^Failed to perform, curl: \(\d+\)\s*", "", text)
    return text.strip()[:200] or "connection failed"
