"""Yahoo image search (no key), scraped from ``/search/images`` result pages.

Results sit in ``ul#sres > li.ld``. Each item is read two ways and the answers merged: the
``data`` attribute (JSON with ``iurl``/``ourl``) and the query string of the item's link
(``imgurl``, ``rurl``, ``w``, ``h``, ``name``, ``turl``), because Yahoo moves fields between the
two. The ``data`` attribute is read tolerantly (see ``read_data``): an item whose attribute is
escaped twice, single-quoted, followed by garbage or cut short loses only what cannot be read,
and never the rest of the page. A title is read from the link's ``tt=`` first (where real Yahoo
links carry it), then ``name=``, then the data and the picture's ``alt``.

Pages without ``li.ld`` items (a layout Yahoo serves since 2026) are read from every link to
``/images/view`` carrying ``imgurl=``, wherever it sits, with the same fields.
European visitors may be sent to a consent wall instead; that is reported as blocked. Pages are
asked as a current desktop Chrome asks them (its TLS handshake and headers).
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

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

PAGE_SIZE = 60
MAX_OFFSET = 1000
CONSENT_MARKERS = ("consent.yahoo.com", "guce.yahoo.com", 'name="agree"', "consent-page")
CAPTCHA_MARKERS = ("/captcha", "g-recaptcha", "unusual traffic")
NO_RESULTS_MARKERS = ("we did not find results for", "zero-result", "no results for")
# One ``key: value`` pair of a JSON-like object: keys bare or quoted either way, values quoted
# either way or numbers. Used only when the attribute is not JSON at all.
_PAIR = re.compile(
    r"""["']?(?P<key>[A-Za-z_]\w*)["']?\s*:\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<num>-?\d+(?:\.\d+)?))"""
)


FILTERS = {
    "imgsz": "size",
    "imgc": "colour",
    "imgty": "type",
    "imga": "",
    "imgf": "",
    "imgt": "",
    "imgl": "licence",
}
"""Yahoo's own filters, passed as they are -> what they filter by, where it is known."""


class YahooImagesSource(Source):
    name = "yahoo_images"
    kind: ClassVar[SourceKind] = "image_search"
    description = "Yahoo image search (no key; images belong to their sites, licence unknown)"
    base_url = "https://images.search.yahoo.com"
    example = "red panda"
    browser = DESKTOP_CHROME
    options = tuple(
        Option(
            key, "str", f"Yahoo's own `{key}` filter{f' ({what})' if what else ''}, passed as it is"
        )
        for key, what in FILTERS.items()
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        search_url = f"{ctx.base_url}/search/images"
        headers = {"Referer": f"{ctx.base_url}/"}
        params: dict[str, str | int] = {"p": query.text, "ei": "UTF-8"}
        params.update(self.read_options(query))
        seen: set[str] = set()
        offset = 1
        while offset <= MAX_OFFSET and not ctx.cancelled():
            resp = await ctx.http.get(
                search_url,
                params={**params, "b": offset},
                headers=headers,
                allow_status=(403,),
                browser=self.browser,
            )
            items = parse_page(resp, ctx, first_page=offset == 1)
            new = unseen(items, seen)
            if not new:
                return
            for item in new:
                yield item
            offset += PAGE_SIZE


def parse_page(resp: HttpResponse, ctx: SourceContext, *, first_page: bool) -> list[Found]:
    """The results of one page.

    Raises:
        BlockedError: a consent wall, captcha or bot check instead of results.
        FormatChangedError: the first page holds neither results nor a "no results" notice.
    """
    parts = urlsplit(resp.url)
    host = (parts.hostname or "").lower()
    if host.startswith(("consent.", "guce.")) or parts.path.startswith(("/consent", "/guce")):
        raise blocked(ctx, "yahoo_images", resp, "consent wall")
    if resp.status == 403:
        raise blocked(ctx, "yahoo_images", resp, "bot check")
    text = resp.text()
    tree = parse_html(text)
    cards = tree.css("#sres li.ld") or tree.css("li.ld")
    items = [found for card in cards if (found := _found(card)) is not None]
    if items:
        return items
    views = [] if cards else tree.css('a[href*="/images/view"]')
    items = [found for a in views if (found := _from_view_link(a)) is not None]
    if items:
        return items
    if contains_any(text, CONSENT_MARKERS):
        raise blocked(ctx, "yahoo_images", resp, "consent wall")
    if contains_any(text, CAPTCHA_MARKERS):
        raise blocked(ctx, "yahoo_images", resp, "captcha")
    if cards:
        raise format_changed(ctx, "yahoo_images", resp, "no li.ld result held an image URL")
    if not first_page or contains_any(text, NO_RESULTS_MARKERS):
        return []
    raise format_changed(
        ctx, "yahoo_images", resp, "no #sres li.ld results nor /images/view links in the page"
    )


def read_data(raw: str | None) -> dict[str, Any]:
    """The fields of an item's ``data`` attribute, read as leniently as it is written.

    Tried in turn: JSON; JSON after undoing a second round of HTML escaping; the first JSON
    object in the text (trailing garbage ignored); and last, each ``key: value`` pair found by
    pattern (single quotes, bare keys, a cut-off object). Returns ``{}`` when nothing is found.
    """
    if not raw or not raw.strip():
        return {}
    text = raw.strip()
    candidates = [text]
    unescaped = html.unescape(text)
    if unescaped != text:
        candidates.append(unescaped)
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            loaded = json.loads(candidate)
        except ValueError:
            start = candidate.find("{")
            try:
                loaded = decoder.raw_decode(candidate, start)[0] if start >= 0 else None
            except ValueError:
                loaded = None
        if isinstance(loaded, dict):
            return loaded
    return _pairs(unescaped)


def _pairs(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for match in _PAIR.finditer(text):
        key = match.group("key")
        if key in found:
            continue
        if match.group("num") is not None:
            found[key] = match.group("num")
            continue
        quoted = match.group("dq")
        if quoted is None:
            quoted = match.group("sq").replace("\\'", "'").replace('"', '\\"')
        try:
            found[key] = json.loads(f'"{quoted}"')
        except ValueError:
            found[key] = quoted.replace("\\/", "/")
    return found


def _found(card: LexborNode) -> Found | None:
    data = read_data(card.attrs.get("data"))
    link: dict[str, str] = {}
    anchor = card.css_first("a[href]")
    if anchor is not None:
        query = urlsplit(anchor.attrs.sget("href")).query
        link = {k: v[0] for k, v in parse_qs(query).items() if v}
    url = _image_url(data.get("iurl")) or _image_url(data.get("ourl"))
    url = url or _image_url(link.get("imgurl"))
    if url is None:
        return None
    img = card.css_first("img")
    thumb = https_url(link.get("turl")) or https_url(data.get("turl"))
    if thumb is None and img is not None:
        thumb = https_url(img.attrs.get("data-src")) or https_url(img.attrs.get("src"))
    title = (
        clean_text(link.get("tt"))
        or clean_text(link.get("name"))
        or clean_text(data.get("alt"))
        or clean_text(data.get("title"))
        or (clean_text(img.attrs.get("alt")) if img is not None else None)
    )
    metadata: dict[str, Any] = {"provider": "Yahoo"}
    size = clean_text(link.get("size")) or clean_text(data.get("size"))
    if size:
        metadata["file_size"] = size
    return Found(
        url=url,
        page_url=https_url(link.get("rurl")) or https_url(data.get("rurl")),
        title=title,
        width=to_int(link.get("w")) or to_int(data.get("w")),
        height=to_int(link.get("h")) or to_int(data.get("h")),
        thumbnail_url=thumb,
        metadata=metadata,
    )


def _from_view_link(anchor: LexborNode) -> Found | None:
    """An item of the layout without ``li.ld``: a link to ``/images/view?…&imgurl=…&tt=…``."""
    href = anchor.attrs.sget("href")
    if "/images/view" not in urlsplit(href).path:
        return None
    link = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items() if v}
    url = _image_url(link.get("imgurl"))
    if url is None:
        return None
    img = anchor.css_first("img")
    thumb = https_url(link.get("turl"))
    if thumb is None and img is not None:
        thumb = https_url(img.attrs.get("data-src")) or https_url(img.attrs.get("src"))
    title = (
        clean_text(link.get("tt"))
        or clean_text(link.get("name"))
        or (clean_text(img.attrs.get("alt")) if img is not None else None)
        or clean_text(anchor.attrs.get("aria-label"))
    )
    metadata: dict[str, Any] = {"provider": "Yahoo"}
    if size := clean_text(link.get("size")):
        metadata["file_size"] = size
    return Found(
        url=url,
        page_url=https_url(link.get("rurl")),
        title=title,
        width=to_int(link.get("w")),
        height=to_int(link.get("h")),
        thumbnail_url=thumb,
        metadata=metadata,
    )


def _image_url(value: Any) -> str | None:
    """Yahoo sometimes leaves the scheme off image URLs (``host/path.jpg``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = value.strip()
    if "://" not in url and not url.startswith("//"):
        url = "https://" + url
    return https_url(url)
