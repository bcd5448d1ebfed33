"""Helpers shared by the search-page and API sources: headers, HTML parsing, error wording, quotas.

Not a source itself (it is not listed in ``MODULES``). Every source that scrapes a page or calls a
keyed API words its failures the same way through these helpers, so a user can tell a captcha
(``BlockedError``), a changed page (``FormatChangedError``), a refused key (``InvalidKeyError``)
and a genuinely empty result apart. The keyed APIs also share :data:`QUOTAS` (what each key has
left, remembered for the whole process) and :class:`AnswerCache` (API answers kept on disk).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from tuiapp.errors import BlockedError, FormatChangedError, InvalidKeyError, RateLimitedError
from tuiapp.sources.base import Browser

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from tuiapp.sources.base import AnswerStore, Found, HttpResponse, SourceContext

__all__ = [
    "ANDROID_CHROME",
    "DESKTOP_CHROME",
    "QUOTAS",
    "AnswerCache",
    "QuotaTracker",
    "blocked",
    "clean_text",
    "contains_any",
    "format_changed",
    "https_url",
    "invalid_key",
    "json_body",
    "json_list",
    "keyed_get",
    "mapping",
    "parse_html",
    "rate_limit_notice",
    "to_int",
    "unseen",
    "wall_time",
]

DESKTOP_CHROME = Browser("chrome152")
"""A current desktop Chrome (curl_cffi's own default Chrome): the scraped search pages but
Google's are asked as it asks them, with its User-Agent and client hints."""
ANDROID_CHROME = Browser("chrome99_android")
"""Chrome on Android: Google's pages are asked as it asks them (as searxng does since 2026-09)."""

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
# Bing and Yahoo wrap the query words of a title in private-use highlight markers.
_HIGHLIGHT = dict.fromkeys(map(ord, "\ue000\ue001"), None)


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


def json_list(
    ctx: SourceContext, source: str, resp: HttpResponse, field: str, *, answer: str = "answer"
) -> tuple[dict[str, Any], list[Any]]:
    """The JSON answer and the list it holds under ``field`` (an API's page of results).

    Raises:
        FormatChangedError: the body is not JSON, not an object or has no list under ``field``
            (``answer`` names the answer in the message).
    """
    data = json_body(ctx, source, resp)
    items = data.get(field) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise format_changed(ctx, source, resp, f'{answer} without a "{field}" list')
    return data, items


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


ResetStyle = Literal["epoch", "seconds", "hourly"]
"""How a service tells when its quota comes back: ``X-Ratelimit-Reset`` as a UNIX time
(Pexels), as seconds from now (Pixabay), or not at all with an hourly window (Unsplash)."""
LONGEST_RESET = 32 * 24 * 3600.0
"""A reset time further off than this is not believed (the longest quota window is a month)."""


def wall_time(moment: float, now: float) -> str:
    """``moment`` as local ``HH:MM`` (rounded up to the minute), with the date when not today."""
    at = datetime.fromtimestamp(moment)
    if at.second or at.microsecond:
        at = datetime.fromtimestamp((int(moment) // 60 + 1) * 60)
    if at.date() == datetime.fromtimestamp(now).date():
        return at.strftime("%H:%M")
    return at.strftime("%H:%M on %Y-%m-%d")


@dataclass(slots=True)
class _Quota:
    remaining: int
    limit: int | None
    reset_at: float | None
    """UNIX time the quota comes back; None when the service did not say."""


class QuotaTracker:
    """What each API key has left, per source, from the last answer's ``X-Ratelimit-*`` headers.

    Process-wide, so the next job does not send a request the last answer said is doomed. Keys
    are remembered by a hash only. ``clock`` is ``time.time``; tests replace it.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._quotas: dict[tuple[str, str], _Quota] = {}

    @staticmethod
    def _slot(source: str, key: str) -> tuple[str, str]:
        return source, hashlib.sha256(key.encode()).hexdigest()[:16]

    def clear(self) -> None:
        self._quotas.clear()

    def note(self, source: str, key: str, resp: HttpResponse, reset: ResetStyle) -> None:
        """Remember what ``resp`` says is left; a success without the headers forgets."""
        slot = self._slot(source, key)
        remaining = _whole(resp.header("x-ratelimit-remaining"))
        if remaining is None:
            if 200 <= resp.status < 300:
                self._quotas.pop(slot, None)
            return
        now = self.clock()
        raw_reset = _whole(resp.header("x-ratelimit-reset"))
        reset_at: float | None = None
        if reset == "hourly":
            # Unsplash counts requests per hour and sends no reset time: an hour from this
            # answer is the latest the quota can come back.
            reset_at = now + 3600
        elif raw_reset is not None:
            reset_at = float(raw_reset) if reset == "epoch" else now + raw_reset
            reset_at = min(reset_at, now + LONGEST_RESET)  # the headers are the site's word
        self._quotas[slot] = _Quota(remaining, _whole(resp.header("x-ratelimit-limit")), reset_at)

    def spent(self, source: str, key: str, why: str | None = None) -> RateLimitedError | None:
        """The error to fail with when the key's quota is spent and not yet back, else None.

        Args:
            why: what the service said, when it refused (a 429 or 403 answer).
        """
        slot = self._slot(source, key)
        quota = self._quotas.get(slot)
        if quota is None or quota.remaining > 0:
            return None
        now = self.clock()
        if quota.reset_at is not None and quota.reset_at <= now:
            del self._quotas[slot]
            return None
        if quota.reset_at is None and why is None:
            return None  # not knowing when it comes back, the service has to say so itself
        left = f"0 of {quota.limit}" if quota.limit is not None else "0"
        text = f"{source}: the API key's quota is spent ({left} requests left"
        text += f"; {why})" if why else ")"
        if quota.reset_at is None:
            return RateLimitedError(f"{text}; the service did not say when it resets")
        return RateLimitedError(f"{text}; quota resets at {wall_time(quota.reset_at, now)}")


QUOTAS = QuotaTracker()
"""The process's memory of every keyed API's quota."""


def _whole(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


async def keyed_get(
    ctx: SourceContext,
    source: str,
    key: str,
    url: str,
    *,
    reset: ResetStyle,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    allow_status: Collection[int] = (),
) -> HttpResponse:
    """GET an API answer, minding the key's quota.

    No request is sent while the last answer said the quota is spent and its reset time has not
    come. A 429 whose headers (or the last answer) say the quota is spent is not retried; any
    other 429 is asked again through the client's usual retries.

    Raises:
        RateLimitedError: the quota is spent (naming when it comes back), or the 429s went on.
    """
    if error := QUOTAS.spent(source, key):
        raise error
    resp = await ctx.http.get(
        url, params=params, headers=headers, allow_status=(*allow_status, 429)
    )
    QUOTAS.note(source, key, resp, reset)
    if resp.status != 429:
        return resp
    if error := QUOTAS.spent(source, key, "HTTP 429 Too Many Requests"):
        raise error
    resp = await ctx.http.get(url, params=params, headers=headers, allow_status=allow_status)
    QUOTAS.note(source, key, resp, reset)
    return resp


class AnswerCache:
    """API answers kept in the engine's database, for services that ask for caching (Pixabay: 24 h).

    Keyed by a hash of what was asked; the caller leaves secrets (the API key) out of it. An entry
    older than ``max_age``, one that cannot be read, or a store that fails counts as absent: a
    cache that does not work only means asking the service again.
    """

    def __init__(
        self,
        store: AnswerStore,
        max_age: float,
        clock: Callable[[], float] = time.time,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.max_age = max_age
        self.clock = clock
        self.log = log or logging.getLogger(__name__)

    @staticmethod
    def key(request: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    async def get(self, request: Mapping[str, Any]) -> Any | None:
        """The answer kept for ``request``, or None when there is none fresh enough."""
        try:
            text = await self.store.get(self.key(request))
        except Exception as exc:  # the database is not the service: go ask the service
            self.log.warning("cached answers cannot be read: %s", exc)
            return None
        try:
            entry = json.loads(text) if text is not None else None
            if not isinstance(entry, dict):
                return None
            fetched = float(entry["fetched"])
            answer = entry["answer"]
        except (ValueError, TypeError, KeyError):
            return None
        age = self.clock() - fetched
        return answer if 0 <= age < self.max_age else None

    async def put(self, request: Mapping[str, Any], answer: Any) -> None:
        """Keep ``answer``; a store that cannot be written to only means no cache."""
        entry = {"fetched": self.clock(), "request": request, "answer": answer}
        try:
            await self.store.put(self.key(request), json.dumps(entry), self.max_age)
        except Exception as exc:
            self.log.warning("an answer cannot be kept: %s", exc)


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
