"""Bing image search, through the ``/images/async`` result fragments (no key).

Each result is an ``a.iusc`` anchor whose ``m`` attribute holds HTML-escaped JSON with the full
image URL (``murl``), the thumbnail (``turl``), the hosting page (``purl``) and the title (``t``).
Every ``a.iusc[m]`` in the fragment is read, wherever it sits, because the surrounding markup
drifts. Bing repeats results across pages, so results are deduplicated by ``murl`` and the search
ends at the first page that brings nothing new.

Bing sometimes answers the first fragment with a well-formed page that holds no results at all
(since 2026, often to a first request): that page is asked for once more, and a second empty
answer is zero results, not a changed format. The fragments are asked as the result page's own
script asks them, by a current desktop Chrome (its TLS handshake and headers), so that no
browser User-Agent ever goes out over Python's handshake.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

from tuiapp.sources._common import (
    DESKTOP_CHROME,
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

PAGE_SIZE = 35
MAX_OFFSET = 1000
"""Bing serves no results past about the thousandth."""
SAFE_SEARCH = {"off": "off", "moderate": "moderate", "strict": "strict"}
CAPTCHA_MARKERS = ("/turing/captcha", "b_captcha", "solve the challenge", "verify you are human")
NO_RESULTS_MARKERS = ("there are no results for", "we didn't find any results", "dg_nr")
_SIZE = re.compile(r"(\d+)\s*[x×]\s*(\d+)")


class BingImagesSource(Source):
    name = "bing_images"
    kind: ClassVar[SourceKind] = "image_search"
    description = "Bing image search (no key; images belong to their sites, licence unknown)"
    base_url = "https://www.bing.com"
    example = "red panda"
    browser = DESKTOP_CHROME
    options = (
        Option("market", "str", "Bing's market, e.g. en-GB (default en-US)"),
        Option("safe", "choice", "safe search (default: Bing's own)", choices=tuple(SAFE_SEARCH)),
        Option("filters", "str", "Bing's own filter string (`qft`), passed as it is"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = self.read_options(query)
        headers = {"Accept": "*/*", "Referer": f"{ctx.base_url}/images/search"}
        params: dict[str, str | int] = {
            "q": query.text,
            "async": 1,
            "count": PAGE_SIZE,
            "mmasync": 1,
            "mkt": opts.get("market", "en-US"),
        }
        if "safe" in opts:
            params["adlt"] = SAFE_SEARCH[opts["safe"]]
        if "filters" in opts:
            params["qft"] = opts["filters"]
        seen: set[str] = set()
        first = 1
        asked_again = False
        while first <= MAX_OFFSET and not ctx.cancelled():
            resp = await ctx.http.get(
                f"{ctx.base_url}/images/async",
                params={**params, "first": first},
                headers=headers,
                allow_status=(403,),
                browser=DESKTOP_CHROME.script(),
            )
            if first == 1 and empty_page(resp):
                if not asked_again:
                    asked_again = True
                    ctx.log.info("%s: the first page came back empty; asking once more", self.name)
                    continue
                return  # asked twice, empty twice: a search without results
            items = parse_page(resp, ctx, first_page=first == 1)
            new = unseen(items, seen)
            if not new:
                return
            for item in new:
                yield item
            first += PAGE_SIZE


def empty_page(resp: HttpResponse) -> bool:
    """A well-formed answer with nothing in it: HTTP 200 from the async endpoint (not a captcha)
    and no body at all, or Bing's result list (``dgControl``) without a result, or markup
    without a single link or picture."""
    if resp.status != 200 or "/turing/captcha" in resp.url:
        return False
    text = resp.text()
    stripped = text.strip()
    if not stripped:
        return True
    if not stripped.startswith("<") or contains_any(text, CAPTCHA_MARKERS):
        return False
    tree = parse_html(text)
    if tree.css_first("a.iusc") is not None:
        return False
    if tree.css_first('[class*="dgControl"]') is not None:
        return True  # the result list is there, with nothing in it
    return tree.css_first("a") is None and tree.css_first("img") is None


def parse_page(resp: HttpResponse, ctx: SourceContext, *, first_page: bool) -> list[Found]:
    """The results of one async fragment.

    Raises:
        BlockedError: a captcha or bot check instead of results.
        FormatChangedError: the first page holds neither results nor a "no results" notice.
    """
    text = resp.text()
    if resp.status == 403 or "/turing/captcha" in resp.url:
        raise blocked(ctx, "bing_images", resp, "bot check" if resp.status == 403 else "captcha")
    tree = parse_html(text)
    anchors = tree.css("a.iusc[m]")
    items = [found for a in anchors if (found := _found(a)) is not None]
    if items:
        return items
    if contains_any(text, CAPTCHA_MARKERS):
        raise blocked(ctx, "bing_images", resp, "captcha")
    if anchors:
        raise format_changed(ctx, "bing_images", resp, "no a.iusc[m] result held a usable murl")
    if not first_page or contains_any(text, NO_RESULTS_MARKERS):
        return []  # past the last page, or a search without hits
    raise format_changed(ctx, "bing_images", resp, "no a.iusc[m] result anchors in the page")


def _found(anchor: LexborNode) -> Found | None:
    try:
        meta: Any = json.loads(anchor.attrs.sget("m"))
    except (ValueError, RecursionError):  # RecursionError: nested absurdly deep
        return None
    if not isinstance(meta, dict):
        return None
    url = https_url(meta.get("murl"))
    if url is None:
        return None
    card = _card(anchor)
    width = height = None
    file_format = None
    domain = None
    title = clean_text(meta.get("t"))
    if card is not None:
        size_node = card.css_first("div.img_info span.nowrap")
        if size_node is not None:
            size_text = size_node.text(strip=True)
            if match := _SIZE.search(size_text):
                width, height = to_int(match.group(1)), to_int(match.group(2))
            file_format = clean_text(size_text.rsplit("·", 1)[-1]) if "·" in size_text else None
        domain_node = card.css_first("div.lnkw a")
        domain = clean_text(domain_node.text()) if domain_node is not None else None
        if title is None:
            title_node = card.css_first("div.infnmpt a")
            title = clean_text(title_node.text()) if title_node is not None else None
    metadata: dict[str, Any] = {"provider": "Bing"}
    for key, value in (
        ("description", clean_text(meta.get("desc"))),
        ("site", domain),
        ("format", file_format),
        ("bing_id", meta.get("mid") or meta.get("cid")),
        ("md5", meta.get("md5")),
    ):
        if value:
            metadata[key] = value
    return Found(
        url=url,
        page_url=https_url(meta.get("purl")),
        title=title,
        width=width,
        height=height,
        thumbnail_url=https_url(meta.get("turl")),
        metadata=metadata,
    )


def _card(anchor: LexborNode) -> LexborNode | None:
    """The list item around a result anchor, where the size and the site's name sit."""
    node = anchor.parent
    while node is not None and node.tag not in {"li", "body", "html"}:
        node = node.parent
    return node if node is not None and node.tag == "li" else None
