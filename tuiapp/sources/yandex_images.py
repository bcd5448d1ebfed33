"""Yandex image search (no key): the page's embedded JSON state, read defensively.

The result page carries its whole state as JSON: in the ``data-state`` attribute of the app's
root element (``{"location": "/images/search/", "initialState": …}``), or inline in a script.
Results are ``initialState.serpList.items.entities``; their keys vary by A/B bucket, so the image
URL is the first of ``origUrl``, the largest of ``viewerData.dups``/``preview``/``thumb``, and
``img_href``. Yandex answers bots with a captcha (header ``x-yandex-captcha`` or a redirect to
``/showcaptcha``), reported as blocked; after one, the whole process leaves Yandex alone for
:data:`CAPTCHA_PAUSE` seconds (asking again at once only earns more captchas, then a ban).
Pages are asked as a current desktop Chrome asks them (its TLS handshake, HTTP/2 and headers):
Yandex shows its SmartCaptcha first to a client whose handshake is not a browser's.
"""

from __future__ import annotations

import html
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from tuiapp.errors import BlockedError
from tuiapp.sources._common import (
    DESKTOP_CHROME,
    blocked,
    clean_text,
    contains_any,
    format_changed,
    https_url,
    mapping,
    parse_html,
    to_int,
    unseen,
)
from tuiapp.sources.base import Found, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from tuiapp.sources.base import HttpResponse

MAX_PAGES = 30
SCREEN = "sw-1920-sh-1080-ww-1125-wh-999"
# Family filter off and a desktop screen size, as the site's own settings cookie says it.
SETTINGS_COOKIE = "yp=1716337604.sp.family%3A0#1685406411.szm.1:1920x1080:1920x999"
STATE_START = '{"location":"/images/search/'
STATE_ENDS = ('advRsyaSearchColumn":null}}', "false}}}")
CAPTCHA_MARKERS = ("showcaptcha", "smartcaptcha", "checkbox-captcha", "captcha-page")
CAPTCHA_PAUSE = 600.0
"""Seconds Yandex is left alone after it answered with a captcha."""


class CaptchaPause:
    """When Yandex may be asked again after a captcha: one for the whole process, so that no
    job (nor several side by side) keeps asking meanwhile."""

    def __init__(
        self, seconds: float = CAPTCHA_PAUSE, clock: Callable[[], float] = time.time
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self.until: float | None = None
        """Epoch seconds from which Yandex may be asked again; None: no captcha met lately."""

    def begin(self) -> str:
        """Start the pause now; returns when it ends (``HH:MM:SS`` UTC)."""
        self.until = self.clock() + self.seconds
        return _utc(self.until)

    def check(self) -> None:
        """Raises BlockedError, saying when the next try will be, while the pause lasts."""
        if self.until is None:
            return
        left = self.until - self.clock()
        if left <= 0:
            self.until = None
            return
        minutes = max(1, round(left / 60))
        raise BlockedError(
            "blocked by captcha: yandex_images met a captcha lately and leaves Yandex alone"
            f" until {_utc(self.until)} UTC (in about {minutes} min), so that this address is"
            " not banned"
        )


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")


PAUSE = CaptchaPause()


class YandexImagesSource(Source):
    name = "yandex_images"
    kind: ClassVar[SourceKind] = "image_search"
    description = "Yandex image search (no key; captcha-prone; licence unknown)"
    base_url = "https://yandex.com"
    example = "red panda"
    browser = DESKTOP_CHROME

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        PAUSE.check()
        headers = {"Referer": f"{ctx.base_url}/images/", "Cookie": SETTINGS_COOKIE}
        seen: set[str] = set()
        page = 0
        while page < MAX_PAGES and not ctx.cancelled():
            params: dict[str, str | int] = {"text": query.text, "uinfo": SCREEN}
            if page:
                params["p"] = page
            resp = await ctx.http.get(
                f"{ctx.base_url}/images/search",
                params=params,
                headers=headers,
                allow_status=(403,),
                browser=self.browser,
            )
            items = parse_page(resp, ctx)
            new = unseen(items, seen)
            if not new:
                return
            for item in new:
                yield item
            page += 1


def parse_page(resp: HttpResponse, ctx: SourceContext) -> list[Found]:
    """The results of one page; an empty list for a search without hits.

    Raises:
        BlockedError: a captcha instead of results.
        FormatChangedError: no result state could be found in the page.
    """
    captcha_header = (resp.header("x-yandex-captcha") or "").lower()
    if captcha_header == "captcha" or "/showcaptcha" in resp.url:
        raise _captcha(ctx, resp)
    text = resp.text()
    if resp.status == 403:
        if contains_any(text, CAPTCHA_MARKERS):
            raise _captcha(ctx, resp)
        raise blocked(ctx, "yandex_images", resp, "bot check")
    state = _state(text)
    if state is None:
        if contains_any(text, CAPTCHA_MARKERS):
            raise _captcha(ctx, resp)
        raise format_changed(ctx, "yandex_images", resp, "no /images/search/ state in the page")
    entities = _dig(state, "initialState", "serpList", "items", "entities")
    if entities is None:
        raise format_changed(
            ctx, "yandex_images", resp, "the page state has no serpList.items.entities"
        )
    if isinstance(entities, dict):
        values = list(entities.values())
    elif isinstance(entities, list):
        values = entities
    else:
        raise format_changed(ctx, "yandex_images", resp, "serpList entities are not a collection")
    items = [found for entity in values if (found := _found(entity)) is not None]
    if values and not items:
        raise format_changed(ctx, "yandex_images", resp, "no result entity held an image URL")
    return items


def _captcha(ctx: SourceContext, resp: HttpResponse) -> BlockedError:
    """The error for a captcha; the process leaves Yandex alone for a while from now."""
    error = blocked(ctx, "yandex_images", resp, "captcha")
    return BlockedError(f"{error.message}; tuiapp asks Yandex again after {PAUSE.begin()} UTC")


def _state(text: str) -> dict[str, Any] | None:
    """The page's JSON state: from a ``data-state`` attribute, else cut out of the page."""
    tree = parse_html(text)
    for node in tree.css("[data-state]"):
        try:
            state = json.loads(node.attrs.sget("data-state"))
        except (ValueError, RecursionError):  # RecursionError: nested absurdly deep
            continue
        if isinstance(state, dict) and str(state.get("location", "")).startswith("/images/search"):
            return state
    page = html.unescape(text)
    start = page.find(STATE_START)
    if start < 0:
        return None
    for marker in STATE_ENDS:
        end = page.find(marker, start)
        if end < 0:
            continue
        try:
            state = json.loads(page[start : end + len(marker)])
        except (ValueError, RecursionError):  # RecursionError: nested absurdly deep
            continue
        if isinstance(state, dict):
            return state
    return None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _found(entity: Any) -> Found | None:
    if not isinstance(entity, dict):
        return None
    viewer = mapping(entity.get("viewerData"))
    url = https_url(entity.get("origUrl"))
    width = to_int(entity.get("origWidth"))
    height = to_int(entity.get("origHeight"))
    if url is None:
        best = _largest(viewer.get("dups"), viewer.get("preview"), [viewer.get("thumb")])
        if best is not None:
            url, width, height = best
    url = url or https_url(viewer.get("img_href")) or https_url(entity.get("img_href"))
    if url is None:
        return None
    snippet = mapping(entity.get("snippet")) or mapping(viewer.get("snippet"))
    thumb = entity.get("image") or _dig(entity, "thumb", "url") or _dig(viewer, "thumb", "url")
    metadata: dict[str, Any] = {"provider": "Yandex"}
    if description := clean_text(snippet.get("text")):
        metadata["description"] = description
    if domain := clean_text(snippet.get("domain")):
        metadata["site"] = domain
    return Found(
        url=url,
        page_url=https_url(snippet.get("url")),
        title=clean_text(snippet.get("title")) or clean_text(entity.get("alt")),
        width=width,
        height=height,
        thumbnail_url=https_url(thumb),
        metadata=metadata,
    )


def _largest(*groups: Any) -> tuple[str, int | None, int | None] | None:
    """The biggest picture among ``{url, w, h}`` entries (``dups``/``preview`` may be empty)."""
    best: tuple[int, str, int | None, int | None] | None = None
    for group in groups:
        if not isinstance(group, list):
            continue
        for entry in group:
            if not isinstance(entry, dict):
                continue
            url = https_url(entry.get("url")) or https_url(entry.get("origUrl"))
            if url is None:
                continue
            w, h = to_int(entry.get("w")), to_int(entry.get("h"))
            area = (w or 0) * (h or 0)
            if best is None or area > best[0]:
                best = (area, url, w, h)
    return None if best is None else (best[1], best[2], best[3])
