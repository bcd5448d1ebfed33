"""DuckDuckGo image search (no key): a ``vqd`` token from the search page, then ``i.js`` JSON.

Both steps are made as a current desktop Chrome makes them (:data:`DESKTOP_CHROME`: its TLS
handshake, HTTP/2 and headers): DuckDuckGo refuses a browser User-Agent over a non-browser
handshake, and the token is bound to the query and the User-Agent, which the browser keeps the
same for both steps. The token comes from the search page asked as a navigation
(``/?q=…&iar=images&t=h_``); ``i.js`` is asked as the page's own script asks it (``fetch()``:
``Accept: */*``, a ``Referer``, ``Sec-Fetch-Mode: cors``; no ``Accept-Language``, which got
``i.js`` requests refused in 2026), with the parameters and the region
and safe-search cookies the site's script and the maintained peers (searxng, ddgs) send in 2026:
``o=json``, ``q``, ``l``, ``vqd``, ``p`` (only when safe search is not the default), ``ct``,
``bpia``, ``u``, ``a``, ``s``; cookies ``ad``, ``ah``, ``l``, ``p``. A 403 on ``i.js`` often
means a stale token: one fresh token is fetched and the page asked again before the search is
reported blocked. Pages are followed through the ``next`` cursor the answer carries, always on
the configured host.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tuiapp.errors import RateLimitedError
from tuiapp.sources._common import (
    DESKTOP_CHROME,
    blocked,
    clean_text,
    contains_any,
    format_changed,
    https_url,
    json_list,
    to_int,
    unseen,
)
from tuiapp.sources.base import Found, Option, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


# Tokens look like "4-2118703965…": digits and dashes only, so prose mentioning vqd never matches.
_VQD = (
    re.compile(r'vqd="([\d-]+)"'),
    re.compile(r"vqd=([\d-]+)&"),
    re.compile(r"vqd='([\d-]+)'"),
)
BOT_MARKERS = ("anomaly-modal", "bots use duckduckgo too", "/anomaly.js", "challenge-form")
SAFE_SEARCH: dict[str, str | None] = {"on": "1", "moderate": None, "strict": "1", "off": "-2"}
"""Safe search -> ``p`` (parameter and cookie); moderate is the site's default and is not sent."""
MAX_PAGES = 20


class DuckDuckGoImagesSource(Source):
    name = "duckduckgo_images"
    kind: ClassVar[SourceKind] = "image_search"
    description = "DuckDuckGo image search (no key; images belong to their sites, licence unknown)"
    base_url = "https://duckduckgo.com"
    example = "red panda"
    browser = DESKTOP_CHROME
    options = (
        Option(
            "region",
            "str",
            "DuckDuckGo's region, e.g. uk-en (default us-en)",
            pattern=r"[a-zA-Z]{2}-[a-zA-Z]{2,3}",
            shape="a region such as uk-en or wt-wt",
        ),
        Option("safe", "choice", "safe search (default moderate)", choices=tuple(SAFE_SEARCH)),
        Option("filters", "str", "DuckDuckGo's own filter string (`f`), passed as it is"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = self.read_options(query)
        vqd = await self._token(query, ctx)
        region: str = opts.get("region", "us-en").lower()
        safe = SAFE_SEARCH[opts.get("safe", "moderate")]
        headers = ijs_headers(ctx, region, safe)
        seen: set[str] = set()
        offset: str | None = "0"
        pages = 0
        refreshed = False
        while offset is not None and pages < MAX_PAGES and not ctx.cancelled():
            params = ijs_params(query.text, region, vqd, safe, offset)
            if "filters" in opts:
                params["f"] = opts["filters"]
            resp = await ctx.http.get(
                f"{ctx.base_url}/i.js",
                params=params,
                headers=headers,
                allow_status=(403, 418),
                browser=DESKTOP_CHROME.script(),
            )
            if resp.status == 403 and not refreshed:
                # Tokens go stale (and are refused) long before a client is blocked.
                refreshed = True
                ctx.log.info("%s: i.js answered 403; fetching a fresh vqd once", self.name)
                vqd = await self._token(query, ctx)
                continue
            if resp.status in (403, 418):
                raise blocked(ctx, self.name, resp, "bot check")
            if resp.status == 202:
                raise RateLimitedError(
                    "duckduckgo_images: DuckDuckGo answered HTTP 202 (it is slowing this client"
                    " down); try again in a few minutes"
                )
            data, results = json_list(ctx, self.name, resp, "results", answer="i.js answer")
            items = [found for r in results if (found := _found(r)) is not None]
            if results and not items:
                raise format_changed(ctx, self.name, resp, "no i.js result held an image URL")
            pages += 1
            new = unseen(items, seen)
            if not new:
                return
            for item in new:
                yield item
            vqd = _fresh_token(data, query.text) or vqd
            offset = _next_offset(data.get("next"))

    async def _token(self, query: SourceQuery, ctx: SourceContext) -> str:
        resp = await ctx.http.get(
            f"{ctx.base_url}/",
            params={"q": query.text, "iar": "images", "t": "h_"},
            allow_status=(403, 418),
            browser=DESKTOP_CHROME,
        )
        text = resp.text()
        for pattern in _VQD:
            if match := pattern.search(text):
                return match.group(1)
        if resp.status in (403, 418) or contains_any(text, BOT_MARKERS):
            raise blocked(ctx, self.name, resp, "bot check")
        raise format_changed(
            ctx,
            self.name,
            resp,
            "no vqd token in the search page (DuckDuckGo also does this when it rate-limits)",
        )


def ijs_params(
    text: str, region: str, vqd: str, safe: str | None, offset: str
) -> dict[str, str | int]:
    """The query of one ``i.js`` request, as the site's script builds it."""
    params: dict[str, str | int] = {
        "o": "json",
        "q": text,
        "l": region,
        "vqd": vqd,
        "ct": _language(region).upper(),
        "bpia": "1",
        "u": "bing",
        "a": "h_",
        "s": offset,
    }
    if safe is not None:
        params["p"] = safe
    return params


def ijs_headers(ctx: SourceContext, region: str, safe: str | None) -> dict[str, str]:
    """Headers of an ``i.js`` request besides the browser's own: ``Accept``, ``Referer`` and the
    settings cookies (``ad`` language, ``ah``/``l`` region, ``p`` safe search)."""
    cookies = {"ah": region, "l": region}
    if region != "wt-wt":
        country = region.split("-", 1)[0]
        cookies["ad"] = f"{_language(region)}_{country.upper()}"
    if safe is not None:
        cookies["p"] = safe
    return {
        "Accept": "*/*",
        "Referer": f"{ctx.base_url}/",
        "Cookie": "; ".join(f"{k}={v}" for k, v in sorted(cookies.items())),
        "Accept-Language": "",  # i.js requests carrying it are refused (searxng, 2026-05)
    }


def _language(region: str) -> str:
    """``us-en`` -> ``en``; the region ``wt-wt`` (no region) counts as English."""
    language = region.rsplit("-", 1)[-1]
    return "en" if language in ("wt", "") else language


def _found(result: Any) -> Found | None:
    if not isinstance(result, dict):
        return None
    url = https_url(result.get("image"))
    if url is None:
        return None
    metadata: dict[str, Any] = {"provider": str(result.get("source") or "DuckDuckGo")}
    return Found(
        url=url,
        page_url=https_url(result.get("url")),
        title=clean_text(result.get("title")),
        width=to_int(result.get("width")),
        height=to_int(result.get("height")),
        thumbnail_url=https_url(result.get("thumbnail")),
        metadata=metadata,
    )


def _fresh_token(data: dict[str, Any], text: str) -> str | None:
    """The answer repeats the token (``"vqd": {query: token}``); newer tokens replace older."""
    tokens = data.get("vqd")
    if isinstance(tokens, dict):
        token = tokens.get(text)
        if isinstance(token, str) and token:
            return token
    return None


def _next_offset(next_url: Any) -> str | None:
    """The ``s`` offset of the ``next`` cursor; None on the last page."""
    if not isinstance(next_url, str) or not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get("s")
    return values[0] if values and values[0].isdigit() else None
