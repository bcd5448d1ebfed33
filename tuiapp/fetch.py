"""HTTP for the engine and its sources: one session, retries with backoff, stall detection, checks.

Retries: 429, 5xx and connection errors, with exponential backoff and jitter, honouring
``Retry-After``; never 404/410 or other 4xx. A transfer that stops sending bytes for
``REQUEST_TIMEOUT`` is abandoned (stall detection), while one that keeps moving may run as long as
it needs. Downloads are checked before they are kept: the first bytes must be the kind of media
the source promised (sniffed, not taken from Content-Type) and the size under the maximum.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import filetype

from tuiapp.errors import (
    ContentRejectedError,
    FetchError,
    HTTPStatusError,
    NetworkError,
    RateLimitedError,
    SourceError,
    StalledError,
    TooLargeError,
)
from tuiapp.sources.base import HttpResponse, MediaKind

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Mapping

    from tuiapp.config import Settings

__all__ = ["Download", "Fetcher", "accepts", "redact", "sniff"]

log = logging.getLogger(__name__)

READ_SIZE = 256 * 1024
"""aiohttp reads of 256 KiB are ~2x faster than 64 KiB ones on large files."""
SNIFF_SIZE = 512
MAX_PAGE_SIZE = 32 * 1000**2
"""A search page or API answer larger than this is not one."""
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Download:
    """What a finished download was."""

    mime: str
    size: int
    url: str


def sniff(head: bytes, declared: str | None) -> str | None:
    """The media type of a file from its first bytes; None when it is not a known media file.

    SVG has no magic number: it is accepted when declared as SVG and it starts like one.
    """
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    declared_type = (declared or "").split(";", 1)[0].strip().lower()
    text = head.lstrip()[:256].lower()
    if declared_type == "image/svg+xml" and (
        text.startswith((b"<svg", b"<?xml")) and b"<svg" in text
    ):
        return "image/svg+xml"
    return None


_SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "client_id", "access_token", "token"})


def redact(url: str) -> str:
    """The URL with secret query values (API keys) replaced, for messages and logs."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, "***" if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def accepts(expect: MediaKind, mime: str | None) -> bool:
    if mime is None:
        return False
    if expect == "any":  # any media file, never a page or an unknown blob
        return mime.startswith(("image/", "video/", "audio/"))
    if expect == "video":
        return mime.startswith(("video/", "audio/"))
    return mime.startswith(f"{expect}/")


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


def _describe(head: bytes, declared: str | None) -> str:
    preview = head[:40].decode("utf-8", errors="replace").strip()
    return f"{declared or 'no Content-Type'} starting with {preview!r}"


class Fetcher:
    """One aiohttp session for the whole engine. Implements the sources' ``HttpClient``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=self.settings.request_timeout,
            sock_read=self.settings.request_timeout,
        )
        connector = aiohttp.TCPConnector(
            limit=0, limit_per_host=self.settings.connections_per_host, ttl_dns_cache=300
        )
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            connector=connector,
            headers={"User-Agent": self.settings.user_agent},
            max_field_size=16384,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("Fetcher.start() was not awaited")
        return self._session

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
    ) -> HttpResponse:
        """GET a page or an API answer, fully read (at most 32 MB)."""

        async def once() -> HttpResponse:
            async with (
                _translate(url),
                self.session.get(url, params=params, headers=headers) as resp,
            ):
                body = await _read_limited(resp, MAX_PAGE_SIZE)
                result = HttpResponse(
                    status=resp.status,
                    url=str(resp.url),
                    headers={k.lower(): v for k, v in resp.headers.items()},
                    body=body,
                )
            if 200 <= result.status < 300 or result.status in allow_status:
                return result
            error = HTTPStatusError(result.status, redact(result.url), result.preview(80))
            if result.status in _RETRY_STATUS:
                raise _Retryable(error, _retry_after(result.header("retry-after")))
            raise error

        return await self._retrying(url, once)

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

        async def once() -> Download:
            guard = _translate(url)
            async with guard, self.session.get(url, headers=headers) as resp:
                if resp.status >= 400 or resp.status < 200:
                    preview = (await resp.content.read(200)).decode("utf-8", "replace")
                    error = HTTPStatusError(resp.status, redact(str(resp.url)), preview[:80])
                    if resp.status in _RETRY_STATUS:
                        raise _Retryable(error, _retry_after(resp.headers.get("Retry-After")))
                    raise error
                total = resp.content_length
                if total is not None and total > limit:
                    raise TooLargeError(f"{url} is {total:,} bytes, more than the limit {limit:,}")
                declared = resp.headers.get("Content-Type")
                head = b""
                while len(head) < SNIFF_SIZE:
                    piece = await resp.content.read(SNIFF_SIZE - len(head))
                    if not piece:
                        break
                    head += piece
                if not head:
                    raise ContentRejectedError(f"{url} answered with an empty body")
                mime = sniff(head, declared)
                if not accepts(expect, mime):
                    raise ContentRejectedError(
                        f"expected {'a file' if expect == 'any' else f'an {expect}'}"
                        f" from {url}, got {_describe(head, declared)}"
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
                        raise TooLargeError(f"{url} is larger than the limit {limit:,} bytes")
                    await write(piece)
                    if progress is not None:
                        progress(size, total)
                if total is not None and size != total:
                    raise NetworkError(f"{url} ended after {size:,} of {total:,} bytes")
                return Download(
                    mime=mime or declared or "application/octet-stream",
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

    def __init__(self, url: str) -> None:
        self.url = url
        self.retryable = True

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None or isinstance(exc, (FetchError, _Retryable, asyncio.CancelledError)):
            return
        if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            raise StalledError(f"{self.url} sent nothing for REQUEST_TIMEOUT; abandoned") from exc
        if isinstance(exc, aiohttp.TooManyRedirects):
            raise NetworkError(f"too many redirects from {self.url}") from exc
        if isinstance(exc, aiohttp.ClientPayloadError):
            raise NetworkError(f"{self.url} sent a broken body: {exc}") from exc
        if isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError)):
            error = NetworkError(f"connection to {self.url} failed: {exc}")
            raise (_Retryable(error) if self.retryable else error) from exc
        if isinstance(exc, aiohttp.InvalidURL):
            raise NetworkError(f"not a valid URL: {self.url}") from exc
        if isinstance(exc, aiohttp.ClientError):
            raise NetworkError(f"{self.url}: {exc}") from exc


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise TooLargeError(f"{resp.url} is {resp.content_length:,} bytes, too large for a page")
    parts: list[bytes] = []
    size = 0
    while True:
        piece = await resp.content.read(READ_SIZE)
        if not piece:
            return b"".join(parts)
        size += len(piece)
        if size > limit:
            raise TooLargeError(f"{resp.url} sent more than {limit:,} bytes for a page")
        parts.append(piece)
