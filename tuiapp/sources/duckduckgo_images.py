"""DuckDuckGo image search (no key): a ``vqd`` token from the search page, then ``i.js`` JSON.

The token is bound to the query and the User-Agent, so one search uses one static UA for both
steps. ``i.js`` is asked the way the site's own script asks it: ``Accept: */*`` and a
``Referer``, and nothing more: since 2026 image requests carrying ``Sec-Fetch-*`` or
``Accept-Language`` headers are refused. A 403 on ``i.js`` often means a stale token: one fresh
token is fetched and the page asked again before the search is reported blocked. Pages are
followed through the ``next`` cursor the answer carries, always on the configured host.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tuiapp.errors import RateLimitedError
from tuiapp.sources._common import (
    blocked,
    browser_headers,
    clean_text,
    contains_any,
    format_changed,
    https_url,
    json_body,
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
SAFE_SEARCH = {"on": "1", "moderate": "1", "strict": "1", "off": "-1"}
MAX_PAGES = 20


class DuckDuckGoImagesSource(Source):
    name = "duckduckgo_images"
    kind: ClassVar[SourceKind] = "image_search"
    description = "DuckDuckGo image search (no key; images belong to their sites, licence unknown)"
    base_url = "https://duckduckgo.com"
    example = "red panda"
    options = (
        Option("region", "str", "DuckDuckGo's region, e.g. uk-en (default us-en)"),
        Option("safe", "choice", "safe search (default moderate)", choices=tuple(SAFE_SEARCH)),
        Option("filters", "str", "DuckDuckGo's own filter string (`f`), passed as it is"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = self.read_options(query)
        vqd = await self._token(query, ctx)
        region: str = opts.get("region", "us-en")
        safe = SAFE_SEARCH[opts.get("safe", "moderate")]
        headers = ijs_headers(ctx)
        seen: set[str] = set()
        offset: str | None = "0"
        pages = 0
        refreshed = False
        while offset is not None and pages < MAX_PAGES and not ctx.cancelled():
            params: dict[str, str | int] = {
                "o": "json",
                "q": query.text,
                "l": region,
                "vqd": vqd,
                "p": safe,
                "s": offset,
            }
            if "filters" in opts:
                params["f"] = opts["filters"]
            resp = await ctx.http.get(
                f"{ctx.base_url}/i.js", params=params, headers=headers, allow_status=(403, 418)
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
            data = json_body(ctx, self.name, resp)
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list):
                raise format_changed(ctx, self.name, resp, 'i.js answer without a "results" list')
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
            headers=browser_headers(ctx),
            allow_status=(403, 418),
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


def ijs_headers(ctx: SourceContext) -> dict[str, str]:
    """Headers of an ``i.js`` request: the token's User-Agent, ``Accept`` and ``Referer``."""
    return {
        "User-Agent": ctx.user_agent,
        "Accept": "*/*",
        "Referer": f"{ctx.base_url}/",
    }


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
