"""Google image search (no key) through the WML pages Google still serves to old phones.

Google answers ordinary scripted requests with a JavaScript-only shell; its ``/wml/search``
pages, asked for with an old Nokia User-Agent, still list results as plain links
``/imgres?imgurl=…&imgrefurl=…&w=…&h=…&tbnid=…``. This is the most fragile source: expect it to
break, and expect captchas (``/sorry/`` pages) after a few searches. One old-phone User-Agent is
drawn per search from a short list, so repeated searches do not all wear the same fingerprint.
There are no titles in WML; the image's file name stands in.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from tuiapp.errors import RateLimitedError
from tuiapp.sources._common import (
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
PHONE_USER_AGENTS: tuple[str, ...] = (
    # Series 40 and Series 60 Nokia phones (MIDP 2.0): Google still answers them with WML.
    "Nokia6230i/2.0 (03.80) Profile/MIDP-2.0 Configuration/CLDC-1.1",
    "Nokia6230/2.0 (05.50) Profile/MIDP-2.0 Configuration/CLDC-1.1",
    "Nokia6280/2.0 (03.60) Profile/MIDP-2.0 Configuration/CLDC-1.1",
    "Nokia6300/2.0 (04.20) Profile/MIDP-2.0 Configuration/CLDC-1.1",
    "Nokia7610/2.0 (5.0509.0) SymbianOS/7.0s Series60/2.1 Profile/MIDP-2.0 Configuration/CLDC-1.0",
    "NokiaN72/2.0617.1.0.3 Series60/2.8 Profile/MIDP-2.0 Configuration/CLDC-1.1",
)
"""Old phone User-Agents; one is drawn per search and kept for all its pages."""
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
        headers = {
            # The WML pages are only served to old phones; a desktop UA gets the JS shell.
            "User-Agent": random.choice(PHONE_USER_AGENTS),
            "Accept": "*/*",
            "Cookie": "CONSENT=YES+",
        }
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
