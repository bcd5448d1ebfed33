"""Helpers shared by the search-page and API sources: headers, HTML parsing, error wording.

Not a source itself (it is not listed in ``MODULES``). Every source that scrapes a page or calls a
keyed API words its failures the same way through these helpers, so a user can tell a captcha
(``BlockedError``), a changed page (``FormatChangedError``), a refused key (``InvalidKeyError``)
and a genuinely empty result apart.
"""

from __future__ import annotations

import html
import re
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from tuiapp.errors import BlockedError, FormatChangedError, InvalidKeyError

if TYPE_CHECKING:
    from tuiapp.sources.base import Found, HttpResponse, SourceContext

__all__ = [
    "BROWSER_ACCEPT",
    "blocked",
    "browser_headers",
    "clean_text",
    "contains_any",
    "format_changed",
    "https_url",
    "invalid_key",
    "json_body",
    "mapping",
    "parse_html",
    "rate_limit_notice",
    "to_int",
    "unseen",
]

BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
# Bing and Yahoo wrap the query words of a title in private-use highlight markers.
_HIGHLIGHT = dict.fromkeys(map(ord, "\ue000\ue001"), None)


def browser_headers(
    ctx: SourceContext, *, referer: str | None = None, accept: str = BROWSER_ACCEPT
) -> dict[str, str]:
    """Headers of a current desktop browser: search sites serve stale or cut pages without them."""
    headers = {
        "User-Agent": ctx.user_agent,
        "Accept": accept,
        "Accept-Language": "en-US,en;q=0.9",
        "Accept-Encoding": "gzip, deflate",
    }
    if referer:
        headers["Referer"] = referer
    return headers


def parse_html(text: str) -> LexborHTMLParser:
    """A parsed page; a leading ``<?xml …?>`` declaration (WML pages) is dropped first.

    The parser decodes character references in attribute values, so an attribute holding
    HTML-escaped JSON comes back as plain JSON text.
    """
    return LexborHTMLParser(_XML_DECLARATION.sub("", text, count=1))


def clean_text(value: Any) -> str | None:
    """Readable text from a title or description: tags, entities and highlight marks removed."""
    if not isinstance(value, str):
        return None
    text = html.unescape(_TAGS.sub("", value)).translate(_HIGHLIGHT)
    text = _SPACE.sub(" ", text).strip()
    return text or None


def to_int(value: Any) -> int | None:
    """A positive whole number from an int or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer():
        return int(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def https_url(value: Any) -> str | None:
    """An absolute http(s) URL: protocol-relative ones get ``https:``; anything else is None."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = value.strip()
    if url.startswith("//"):
        url = "https:" + url
    return url if urlsplit(url).scheme in {"http", "https"} else None


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (for defensive lookups)."""
    return value if isinstance(value, dict) else {}


def contains_any(text: str, markers: tuple[str, ...]) -> bool:
    """True when ``text`` contains one of ``markers`` (case-insensitive)."""
    lowered = text.lower()
    return any(marker.lower() in lowered for marker in markers)


def format_changed(
    ctx: SourceContext, source: str, resp: HttpResponse, problem: str
) -> FormatChangedError:
    """The error for a page that answered with nothing parseable; logs status and first bytes."""
    preview = resp.preview(200)
    ctx.log.warning(
        "%s: %s; HTTP %s from %s, %d bytes starting %r",
        source,
        problem,
        resp.status,
        resp.url,
        len(resp.body),
        preview,
    )
    return FormatChangedError(
        f"{source}: {problem} (HTTP {resp.status}, {len(resp.body)} bytes starting"
        f" {resp.preview(80)!r}); the site may have changed its format"
    )


def json_body(ctx: SourceContext, source: str, resp: HttpResponse) -> Any:
    """The body as JSON.

    Raises:
        FormatChangedError: the body is not JSON (logged with status and first bytes).
    """
    try:
        return resp.json()
    except FormatChangedError as exc:
        raise format_changed(ctx, source, resp, "the answer is not JSON") from exc


def blocked(
    ctx: SourceContext,
    source: str,
    resp: HttpResponse,
    wall: Literal["captcha", "consent wall", "bot check"],
) -> BlockedError:
    """The error for a captcha, consent wall or bot check served instead of results."""
    ctx.log.warning(
        "%s: %s at %s (HTTP %s), body starts %r",
        source,
        wall,
        resp.url,
        resp.status,
        resp.preview(),
    )
    return BlockedError(
        f"blocked by {wall}: {source} answered with a {wall} page instead of results"
        f" (HTTP {resp.status} from {resp.url}); try again later or from another network"
    )


def invalid_key(setting: str, resp: HttpResponse, detail: str | None = None) -> InvalidKeyError:
    """The error for a key the service refused (HTTP 401/403)."""
    why = detail or resp.preview(120).strip()
    suffix = f": {why}" if why else ""
    return InvalidKeyError(
        f"invalid key: check {setting} (the service answered HTTP {resp.status}{suffix})"
    )


def rate_limit_notice(
    ctx: SourceContext,
    source: str,
    resp: HttpResponse,
    *,
    reset: Literal["epoch", "seconds"] | None = None,
) -> str | None:
    """Tell the user how many requests the key has left, from ``X-Ratelimit-*`` headers.

    Args:
        reset: how ``X-Ratelimit-Reset`` counts: a UNIX time (``epoch``) or seconds from now.

    Returns:
        The notice given, or None when the response carried no rate-limit headers.
    """
    remaining = resp.header("x-ratelimit-remaining")
    if remaining is None:
        return None
    limit = resp.header("x-ratelimit-limit")
    text = f"{source}: {remaining.strip()}"
    text += f" of {limit.strip()} requests left" if limit else " requests left"
    raw_reset = (resp.header("x-ratelimit-reset") or "").strip()
    if reset is not None and raw_reset.isdigit():
        seconds = int(raw_reset) - int(time.time()) if reset == "epoch" else int(raw_reset)
        text += f", the limit resets in {max(0, seconds)} s"
    ctx.notice(text)
    return text


def unseen(items: list[Found], seen: set[str]) -> list[Found]:
    """The items whose URL is not in ``seen`` (which then holds them too).

    A search pages until a page brings nothing new: sites repeat their last page past the end.
    """
    new: list[Found] = []
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            new.append(item)
    return new
