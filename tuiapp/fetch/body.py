"""What the fetcher reads and says about bodies: sniffing, page reads under a cap, safe texts.

A remote body is never quoted in an error about a failed item: errors say status, content type
and size. A page that sources parse (an ``HttpResponse``) offers only a short printable preview,
and its JSON is parsed with nesting too deep for Python treated as a changed format.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import filetype

from tuiapp.errors import FormatChangedError, TooLargeError
from tuiapp.sources.base import HttpResponse, MediaKind

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "MAX_DECODE_RATIO",
    "MAX_PAGE_SIZE",
    "Download",
    "Page",
    "accepts",
    "check_ratio",
    "describe",
    "media_type",
    "printable",
    "read_page",
    "redact",
    "sniff",
    "text_kind",
]

MAX_PAGE_SIZE = 8 * 1024**2
"""A search page or an API answer larger than this is not one: refused as it arrives."""
PAGE_READ_SIZE = 64 * 1024


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


def text_kind(head: bytes) -> str | None:
    """What a body that is not media looks like (``text/html``, ...), judged without quoting it."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<body" in text:
        return "text/html"
    if text.startswith(b"<"):
        return "text/xml"
    if text.startswith((b"{", b"[")):
        return "application/json"
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(text) - 3:  # not just a character cut by the end of the head
            return None
        decoded = text[: exc.start].decode("utf-8")
    return "text/plain" if all(c.isprintable() or c in "\r\n\t" for c in decoded) else None


def accepts(expect: MediaKind, mime: str | None) -> bool:
    """Whether a file sniffed as ``mime`` is the kind a source promised."""
    if mime is None:
        return False
    if expect == "any":  # any media file, never a page or an unknown blob
        return mime.startswith(("image/", "video/", "audio/"))
    if expect == "video":
        return mime.startswith(("video/", "audio/"))
    return mime.startswith(f"{expect}/")


_SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "client_id", "access_token", "token"})


def redact(url: str) -> str:
    """The URL with secret query values (API keys) replaced, for messages and logs."""
    if "?" not in url:
        return url  # no query, nothing secret (and no parsing, once per file downloaded)
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, "***" if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}"
)


def media_type(declared: str | None) -> str | None:
    """The media type of a Content-Type header, lower-case; None unless it is well-formed.

    The header is chosen by a hostile server: nothing else of it is repeated or kept.
    """
    head = (declared or "").split(";", 1)[0].strip()
    return head.lower() if _MEDIA_TYPE.fullmatch(head) else None


def describe(declared: str | None, size: int | None) -> str:
    """A body as errors tell it: its declared type and its size, never its bytes."""
    kind = media_type(declared) or ("a bad Content-Type" if declared else "no Content-Type")
    return f"{kind}, {'unknown size' if size is None else f'{size:,} bytes'}"


def printable(text: str) -> str:
    """``text`` without control characters (C0, C1, ESC, bidi overrides), each made a space."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)


@dataclass(frozen=True, slots=True)
class Page(HttpResponse):
    """An ``HttpResponse`` the fetcher read: safe to quote and safe to parse."""

    def json(self) -> Any:
        """The body as JSON; anything else (nesting too deep included) is a changed format."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            why = "nested too deep" if isinstance(exc, RecursionError) else "not JSON"
            raise FormatChangedError(
                f"expected JSON from {redact(self.url)} (HTTP {self.status},"
                f" {describe(self.header('content-type'), len(self.body))}): {why}"
            ) from None

    def preview(self, size: int = 120) -> str:
        """The start of the body as printable text, at most ``size`` (<= 200) characters."""
        return printable(self.body[: min(size, 200)].decode("utf-8", errors="replace"))


async def read_page(resp: aiohttp.ClientResponse, limit: int = MAX_PAGE_SIZE) -> bytes:
    """The whole body of a page, refused as soon as it passes ``limit`` bytes (decoded).

    Raises:
        FormatChangedError: the page is larger than ``limit``.
    """
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise _too_large(resp, limit)
    buf = bytearray()
    while piece := await resp.content.read(PAGE_READ_SIZE):
        if len(buf) + len(piece) > limit:
            raise _too_large(resp, limit)
        buf += piece
    return bytes(buf)


def _too_large(resp: aiohttp.ClientResponse, limit: int) -> FormatChangedError:
    return FormatChangedError(
        f"{redact(str(resp.url))} sent more than {limit:,} bytes for a page; not read"
    )


MAX_DECODE_RATIO = 100
"""A Content-Encoding that inflates a body more than this many times is a bomb, not a file."""
RATIO_FLOOR = 1024**2
"""Bodies decoded to less than this are not judged by their ratio (a small SVG compresses well)."""


def check_ratio(url: str, decoded: int, raw: int) -> None:
    """Refuse a body that ``raw`` bytes on the wire inflated to ``decoded`` bytes past the ratio.

    Raises:
        TooLargeError: a compression bomb.
    """
    if decoded > RATIO_FLOOR and decoded > MAX_DECODE_RATIO * max(raw, 1):
        raise TooLargeError(
            f"{url} inflates more than {MAX_DECODE_RATIO}x ({raw:,} bytes sent became"
            f" {decoded:,}); refused as a compression bomb"
        )
