"""HTTP for the engine and its sources: one session, retries with backoff, stall detection, checks.

Retries: 429, 5xx and connection errors, with exponential backoff and jitter, honouring
``Retry-After``; never 404/410 or other 4xx, never a refused address. A transfer that stops
sending bytes for ``REQUEST_TIMEOUT`` is abandoned (stall detection), while one that keeps moving
may run as long as it needs. Downloads are checked before they are kept: the first bytes must be
the kind of media the source promised (sniffed, not taken from Content-Type) and the size, counted
after decompression, under the maximum. Where a connection may go is ``policy``'s business; what
is read and said about bodies is ``body``'s.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from tuiapp.errors import (
    BlockedAddressError,
    ContentRejectedError,
    FetchError,
    HTTPStatusError,
    NetworkError,
    ProxyUnreachableError,
    RateLimitedError,
    SourceError,
    StalledError,
    TooLargeError,
    UnreachableError,
)
from tuiapp.fetch.body import (
    MAX_DECODE_RATIO,
    MAX_PAGE_SIZE,
    Download,
    Page,
    accepts,
    check_ratio,
    describe,
    media_type,
    read_page,
    redact,
    sniff,
    text_kind,
)
from tuiapp.fetch.browser import BrokenConnection, BrowserTransport
from tuiapp.fetch.policy import GuardedConnector, allowing, check_scheme
from tuiapp.fetch.proxy import login_refused, proxy_failure, proxy_session
from tuiapp.proxies import Proxy, acting_for, proxy_plan

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping

    from aiohttp.abc import AbstractResolver

    from tuiapp.config import Settings
    from tuiapp.sources.base import Browser, HttpResponse, MediaKind

__all__ = [
    "MAX_DECODE_RATIO",
    "MAX_PAGE_SIZE",
    "Download",
    "Fetcher",
    "accepts",
    "acting_for",
    "allowing",
    "proxy_plan",
    "redact",
    "sniff",
]

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
"""aiohttp reads of 256 KiB are ~2x faster than 64 KiB ones on large files."""
SNIFF_SIZE = 512
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

T = TypeVar("T")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """One aiohttp session for the whole engine. Implements the sources' ``HttpClient``.

    Two transports under one address policy: aiohttp for API calls, plain pages and every
    download; curl_cffi (``browser.py``) for the page requests of a source that asks to be a
    browser. Both go through the proxy ``proxy.py`` picks for the request (the proxies named
    are allowed by the policy, whatever their address).

    Connections go only to public addresses, except to the origins the user named: the
    configured base URLs (``settings.base_urls``), ``allow`` (for a caller that names origins
    without settings, e.g. a source run on its own against a given base URL), and per job with
    :func:`allowing`; or anywhere when ``allow_private_networks`` is set. A refusal is a
    ``BlockedAddressError`` raised before any packet is sent.

    Args:
        settings: the settings to run with.
        allow: URLs whose origins (host and port) may be private addresses.
        resolver: turns names into addresses (tests pass a stub); aiohttp's default otherwise.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        allow: Iterable[str] = (),
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.settings = settings
        self.proxies = proxy_plan(settings)
        self.allowed = (
            *settings.base_urls.values(),
            *allow,
            *(f"http://{p.address}" for p in self.proxies.every()),
        )
        """The URLs whose origins were named, so may resolve to non-public addresses."""
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._proxied: dict[str, aiohttp.ClientSession] = {}
        self._browser: BrowserTransport | None = None

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=self.settings.request_timeout,
            sock_read=self.settings.request_timeout,
        )
        self._timeout = timeout
        connector = self._connector()
        self._session = aiohttp.ClientSession(connector=connector, **self._session_options())
        self._browser = BrowserTransport(
            connector.checked_addresses, self.proxies.for_url, self.settings.request_timeout
        )

    def _connector(self) -> GuardedConnector:
        extra: dict[str, Any] = {} if self._resolver is None else {"resolver": self._resolver}
        return GuardedConnector(
            allowed=self.allowed,
            allow_everything=self.settings.allow_private_networks,
            limit=0,
            limit_per_host=self.settings.connections_per_host,
            ttl_dns_cache=300,
            **extra,
        )

    def _session_options(self) -> dict[str, Any]:
        return {
            "timeout": self._timeout,
            "headers": {"User-Agent": self.settings.user_agent},
            "max_field_size": 16384,
        }

    async def close(self) -> None:
        sessions = [*self._proxied.values()]
        self._proxied = {}
        if self._session is not None:
            sessions.append(self._session)
            self._session = None
        for session in sessions:
            await session.close()
        if self._browser is not None:
            await self._browser.close()
            self._browser = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Fetcher.start() was not awaited")
        return self._session

    # --- proxies ------------------------------------------------------------------------------

    def proxy_for(self, url: str) -> str | None:
        """The URL of the proxy a request to ``url`` goes through now (None: direct)."""
        proxy = self.proxies.for_url(url)
        return proxy.url if proxy is not None else None

    def _route(self, url: str) -> tuple[aiohttp.ClientSession, Proxy | None]:
        """The aiohttp session that takes ``url`` through its proxy (one session per proxy)."""
        proxy = self.proxies.for_url(url)
        if proxy is None:
            return self.session, None
        session = self._proxied.get(proxy.url)
        if session is None:
            session = proxy_session(proxy, self._connector, **self._session_options())
            self._proxied[proxy.url] = session
        return session, proxy

    # --- retries ------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        base = self.settings.retry_base_delay * (2**attempt)
        return float(min(self.settings.retry_max_wait, base + random.uniform(0, base)))

    async def _retrying(self, url: str, attempt_once: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await attempt_once()
            except _Retryable as exc:
                if attempt >= self.settings.retries:
                    raise exc.final() from None
                wait = exc.retry_after
                if wait is None:
                    wait = self._backoff(attempt)
                elif wait > self.settings.retry_max_wait:
                    raise exc.final(f"asked to wait {wait:.0f} s before retrying") from None
                log.info("retrying %s in %.2f s: %s", redact(url), wait, exc.error)
                attempt += 1
                await asyncio.sleep(wait)

    # --- pages and API answers ----------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
        browser: Browser | None = None,
    ) -> HttpResponse:
        """GET a page or an API answer, fully read (at most ``MAX_PAGE_SIZE``).

        With ``browser``, through curl_cffi as that browser (see ``browser.py``).

        Raises:
            FormatChangedError: the page is larger than ``MAX_PAGE_SIZE``.
            FetchError: a subclass saying what else went wrong.
        """
        check_scheme(url)

        async def once() -> HttpResponse:
            result: Page
            if browser is not None:
                if self._browser is None:
                    raise RuntimeError("Fetcher.start() was not awaited")
                try:
                    result = await self._browser.get(
                        url, browser=browser, params=params, headers=headers
                    )
                except BrokenConnection as exc:
                    raise _Retryable(exc) from None
            else:
                session, proxy = self._route(url)
                async with (
                    _translate(redact(url), proxy),
                    session.get(url, params=params, headers=headers) as resp,
                ):
                    body = await read_page(resp)
                    result = Page(
                        status=resp.status,
                        url=str(resp.url),
                        headers={k.lower(): v for k, v in resp.headers.items()},
                        body=body,
                    )
            if 200 <= result.status < 300 or result.status in allow_status:
                return result
            if result.status == 407 and (proxy := self.proxies.for_url(url)) is not None:
                raise login_refused(proxy)
            detail = describe(result.header("content-type"), len(result.body))
            error = HTTPStatusError(result.status, redact(result.url), detail)
            if result.status in _RETRY_STATUS:
                raise _Retryable(error, _retry_after(result.header("retry-after")))
            raise error

        return await self._retrying(url, once)

    # --- webhooks ------------------------------------------------------------------------------

    async def post_json(self, url: str, body: Any, *, within: float) -> str | None:
        """POST ``body`` as JSON to a URL the user named (a webhook), once.

        Its origin is allowed as a named one (it may be a private address); a redirect is not
        followed (the digest goes where it was named to, or nowhere); the answer is read up to
        64 KiB and dropped.

        Returns:
            None when it answered 2xx, else why not in a few words.
        """
        try:
            check_scheme(url)
            with allowing([url]):
                async with (
                    asyncio.timeout(within),
                    self.session.post(url, json=body, allow_redirects=False) as resp,
                ):
                    await resp.content.read(64 * 1024)
                    return None if 200 <= resp.status < 300 else f"it answered HTTP {resp.status}"
        except TimeoutError:
            return f"no answer within {within:g} s"
        except BlockedAddressError as exc:
            return str(exc)
        except (aiohttp.ClientError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]

    # --- media files --------------------------------------------------------------------------

    async def download(
        self,
        url: str,
        *,
        write: Callable[[bytes], Awaitable[None]],
        expect: MediaKind = "image",
        headers: Mapping[str, str] | None = None,
        max_size: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Download:
        """Stream ``url`` into ``write``, checking kind and size first.

        Nothing is passed to ``write`` before the first bytes were checked, so a rejected file
        leaves nothing behind. Retries happen only before the first byte was written.

        Raises:
            FetchError: a subclass saying what went wrong.
        """
        limit = max_size or self.settings.max_file_size
        check_scheme(url)
        shown = redact(url)

        async def once() -> Download:
            session, proxy = self._route(url)
            guard = _translate(shown, proxy)
            async with guard, session.get(url, headers=headers) as resp:
                declared = resp.headers.get("Content-Type")
                if resp.status == 407 and proxy is not None:
                    raise login_refused(proxy)
                if resp.status >= 400 or resp.status < 200:
                    # The body is not read: it may be a local service's answer to a redirect.
                    detail = describe(declared, resp.content_length)
                    error = HTTPStatusError(resp.status, redact(str(resp.url)), detail)
                    if resp.status in _RETRY_STATUS:
                        raise _Retryable(error, _retry_after(resp.headers.get("Retry-After")))
                    raise error
                encoded = bool(resp.headers.get("Content-Encoding"))
                # With a Content-Encoding, Content-Length counts the encoded bytes.
                total = resp.content_length
                if total is not None and total > limit:
                    raise TooLargeError(
                        f"{shown} is {total:,} bytes, more than the limit {limit:,}"
                    )
                if encoded:
                    total = None
                head = b""
                while len(head) < SNIFF_SIZE:
                    piece = await resp.content.read(SNIFF_SIZE - len(head))
                    if not piece:
                        break
                    head += piece
                if not head:
                    raise ContentRejectedError(f"{shown} answered with an empty body")
                mime = sniff(head, declared)
                if not accepts(expect, mime):
                    got = mime or text_kind(head) or "no known media type"
                    raise ContentRejectedError(
                        f"expected {'a file' if expect == 'any' else f'an {expect}'}"
                        f" from {shown}, got {got} (HTTP {resp.status},"
                        f" {describe(declared, resp.content_length)})"
                    )
                guard.retryable = False  # bytes reached the writer: a retry would repeat them
                await write(head)
                size = len(head)
                if progress is not None:
                    progress(size, total)
                while True:
                    piece = await resp.content.read(READ_SIZE)
                    if not piece:
                        break
                    size += len(piece)
                    if size > limit:
                        raise TooLargeError(f"{shown} is larger than the limit {limit:,} bytes")
                    if encoded:
                        check_ratio(shown, size, resp.content.total_raw_bytes)
                    await write(piece)
                    if progress is not None:
                        progress(size, total)
                if total is not None and size != total:
                    raise NetworkError(f"{shown} ended after {size:,} of {total:,} bytes")
                return Download(
                    mime=mime or media_type(declared) or "application/octet-stream",
                    size=size,
                    url=str(resp.url),
                )

        return await self._retrying(url, once)


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after

    def final(self, extra: str = "") -> SourceError:
        err = self.error
        if isinstance(err, HTTPStatusError) and err.status == 429:
            text = f"rate limited by {err.url}" + (f" ({extra})" if extra else "")
            return RateLimitedError(text)
        return err


class _translate:
    """Turns aiohttp's and asyncio's exceptions into ours."""

    def __init__(self, url: str, proxy: Proxy | None = None) -> None:
        self.url = url
        self.proxy = proxy
        self.retryable = True

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None or isinstance(exc, (FetchError, _Retryable, asyncio.CancelledError)):
            return
        if self.proxy is not None and (why := proxy_failure(exc)) is not None:
            raise ProxyUnreachableError(self.proxy.address, why) from exc
        if isinstance(exc, aiohttp.NonHttpUrlRedirectClientError):
            raise BlockedAddressError(
                f"refused: {self.url} redirected to a non-http(s) URL"
            ) from exc
        if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            raise StalledError(f"{self.url} sent nothing for REQUEST_TIMEOUT; abandoned") from exc
        if isinstance(exc, aiohttp.TooManyRedirects):
            raise NetworkError(f"too many redirects from {self.url}") from exc
        if isinstance(exc, aiohttp.ClientPayloadError):
            raise NetworkError(f"{self.url} sent a broken body: {exc}") from exc
        if isinstance(exc, aiohttp.ClientConnectorError):
            # No connection could be made (name not resolved, refused, TLS failed): the next
            # try would fail the same way, so it is not retried; a source gives up on the host
            # after a few of these in a row.
            host = urlsplit(self.url).hostname or self.url
            raise UnreachableError(host, _reason(exc)) from exc
        if isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError)):
            error = NetworkError(f"connection to {self.url} failed: {exc}")
            raise (_Retryable(error) if self.retryable else error) from exc
        if isinstance(exc, aiohttp.InvalidURL):
            raise NetworkError(f"not a valid URL: {self.url}") from exc
        if isinstance(exc, aiohttp.ClientError):
            raise NetworkError(f"{self.url}: {exc}") from exc


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    """Why no connection could be made, in a few words."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "name not resolved"
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        return "TLS failed"
    if isinstance(exc.os_error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc.os_error, TimeoutError):
        return "no answer"
    return exc.os_error.strerror or type(exc.os_error).__name__
