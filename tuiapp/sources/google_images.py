"""Google image search (no key) through the ``/wml/search`` pages, asked as Chrome on Android.

The WML pages list results as plain links ``/imgres?imgurl=…&imgrefurl=…&w=…&h=…&tbnid=…``.
Since late August 2026 Google answers 403 to a browser's User-Agent over a non-browser TLS
handshake, so every request is made as Chrome on Android makes it (:data:`ANDROID_CHROME`: its
ClientHello, HTTP/2 and headers, User-Agent included), as searxng does since 2026-09. This is
the most fragile source: expect it to break, and expect captchas (``/sorry/`` pages) after a
few searches. There are no titles in WML; the image's file name stands in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from tuiapp.errors import RateLimitedError
from tuiapp.sources._common import (
    ANDROID_CHROME,
    blocked,
    clean_text,
    contains_any,
    format_changed,
    https_url,
    parse_html,
    to_int,
    unseen,
)
from tuiapp.sources.base import Found, Option, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from selectolax.lexbor import LexborNode

    from tuiapp.sources.base import HttpResponse

PAGE_SIZE = 10
MAX_PAGES = 50
THUMBNAIL = "https://encrypted-tbn0.gstatic.com/images?q=tbn:{}"
SAFE_SEARCH = {"on": "active", "strict": "active", "moderate": "images", "off": "off"}
TIME_RANGES = {"day": "qdr:d", "week": "qdr:w", "month": "qdr:m", "year": "qdr:y"}
NO_RESULTS_MARKERS = ("did not match any image results", "did not match any documents")
CONSENT_MARKERS = ("consent.google.com",)


class GoogleImagesSource(Source):
    name = "google_images"
    kind: ClassVar[SourceKind] = "image_search"
    description = "Google image search (no key; experimental, breaks often; licence unknown)"
    base_url = "https://www.google.com"
    example = "red panda"
    browser = ANDROID_CHROME
    options = (
        Option("language", "str", "Google's interface language, e.g. de (default en)"),
        Option("safe", "choice", "safe search (default: Google's own)", choices=tuple(SAFE_SEARCH)),
        Option(
            "time",
            "choice",
            "only images from the last day, week, month or year",
            choices=tuple(TIME_RANGES),
        ),
        Option("filters", "str", "Google's own `tbs` filters, passed as they are"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = self.read_options(query)
        headers = {"Cookie": "CONSENT=YES+"}  # the browser's own headers go with it
        params: dict[str, str | int] = {
            "q": query.text,
            "sca_esv": 1,
            "hl": opts.get("language", "en"),
            "ie": "utf8",
            "oe": "utf8",
            "tbm": "isch",
        }
        if "safe" in opts:
            params["safe"] = SAFE_SEARCH[opts["safe"]]
        tbs = [TIME_RANGES[opts["time"]]] if "time" in opts else []
        if "filters" in opts:
            tbs.append(opts["filters"])
        if tbs:
            params["tbs"] = ",".join(tbs)
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            if ctx.cancelled():
                return
            page_params = {**params, "start": page * PAGE_SIZE} if page else params
            # A captcha comes as HTTP 429 on a /sorry/ page: retrying it only digs deeper.
            resp = await ctx.http.get(
                f"{ctx.base_url}/wml/search",
                params=page_params,
                headers=headers,
                allow_status=(403, 429),
                browser=self.browser,
            )
            items = parse_page(resp, ctx, first_page=page == 0)
            new = unseen(items, seen)
            if not new:
                return
            for item in new:
                yield item


def parse_page(resp: HttpResponse, ctx: SourceContext, *, first_page: bool) -> list[Found]:
    """The results of one WML page.

    Raises:
        BlockedError: a ``/sorry/`` captcha or the consent wall instead of results.
        RateLimitedError: HTTP 429 without a captcha page.
        FormatChangedError: the first page holds neither results nor a "no results" notice.
    """
    parts = urlsplit(resp.url)
    text = resp.text()
    host = (parts.hostname or "").lower()
    if host.startswith("sorry.") or parts.path.startswith("/sorry/"):
        raise blocked(ctx, "google_images", resp, "captcha")
    if host.startswith("consent."):
        raise blocked(ctx, "google_images", resp, "consent wall")
    if resp.status in (403, 429) and "/sorry/" in text:
        raise blocked(ctx, "google_images", resp, "captcha")
    if resp.status == 429:
        raise RateLimitedError(f"google_images: rate limited (HTTP 429 from {resp.url})")
    if resp.status == 403:
        raise blocked(ctx, "google_images", resp, "bot check")
    tree = parse_html(text)
    links = tree.css('a[href*="/imgres?"]')
    items = [found for a in links if (found := _found(a)) is not None]
    if items:
        return items
    if len(resp.body) < 2000 and "/sorry/" in text:
        raise blocked(ctx, "google_images", resp, "captcha")
    if contains_any(text, CONSENT_MARKERS):
        raise blocked(ctx, "google_images", resp, "consent wall")
    if links:
        raise format_changed(ctx, "google_images", resp, "no /imgres link held an imgurl")
    if not first_page or contains_any(text, NO_RESULTS_MARKERS):
        return []
    raise format_changed(ctx, "google_images", resp, "no /imgres?… result links in the page")


def _found(link: LexborNode) -> Found | None:
    href = link.attrs.sget("href")
    fields = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items() if v}
    url = https_url(fields.get("imgurl"))
    if url is None:
        return None
    img = link.css_first("img")
    thumb = https_url(img.attrs.get("src")) if img is not None else None
    tbnid = fields.get("tbnid")
    if thumb is None and tbnid:
        thumb = THUMBNAIL.format(tbnid)
    title = (clean_text(img.attrs.get("alt")) if img is not None else None) or _file_name(url)
    metadata: dict[str, Any] = {"provider": "Google"}
    if tbnid:
        metadata["tbnid"] = tbnid
    if fields.get("docid"):
        metadata["docid"] = fields["docid"]
    return Found(
        url=url,
        page_url=https_url(fields.get("imgrefurl")),
        title=title,
        width=to_int(fields.get("w")),
        height=to_int(fields.get("h")),
        thumbnail_url=thumb,
        metadata=metadata,
    )


def _file_name(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return clean_text(name)
