"""Pixabay image search through the official API (needs ``PIXABAY_API_KEY``).

``GET /api/?key=<key>&q=…`` - the key travels in the query string, so every error raised here
has it blanked out of its message (an error message is stored with the job). Error answers are
plain text, never JSON. At most 500 hits are reachable per query (``totalHits``). Remaining quota
(``X-RateLimit-*``, the reset in seconds from now) is shown as a notice and remembered: once it is
spent, no request is sent until the reset.

Pixabay's terms ask that API answers be cached for 24 hours: each page of results is kept in the
engine's database (``SourceContext.answers``), keyed by what was asked without the key, and the
same question within 24 hours is answered from there without a request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from tuiapp.errors import HTTPStatusError, SourceError
from tuiapp.sources._common import (
    AnswerCache,
    clean_text,
    format_changed,
    https_url,
    invalid_key,
    json_body,
    keyed_get,
    rate_limit_notice,
    to_int,
)
from tuiapp.sources.base import (
    Found,
    Option,
    Source,
    SourceContext,
    SourceKind,
    SourceQuery,
    item_id,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.sources.base import HttpResponse

KEY_SETTING = "PIXABAY_API_KEY"
MAX_PER_PAGE = 200
MAX_HITS = 500
MAX_QUERY = 100
SIZES = {"large": ("largeImageURL", 1280), "web": ("webformatURL", 640), "full": ("imageURL", 0)}
"""Option ``size`` -> the hit's URL field and the longest side it is scaled to (0: original)."""
FILTERS = (
    "image_type",
    "orientation",
    "category",
    "min_width",
    "min_height",
    "colors",
    "editors_choice",
    "safesearch",
    "order",
    "lang",
)
CATEGORIES = (
    "backgrounds", "fashion", "nature", "science", "education", "feelings", "health", "people",
    "religion", "places", "animals", "industry", "computer", "food", "sports", "transportation",
    "travel", "buildings", "business", "music",
)  # fmt: skip
LICENSE = "Pixabay Content License"
CACHE_FOR = 24 * 3600.0
"""Seconds an API answer is kept and reused (Pixabay's terms: 24 hours)."""


class PixabaySource(Source):
    name = "pixabay"
    kind: ClassVar[SourceKind] = "image_api"
    description = "Free images from pixabay.com (API key PIXABAY_API_KEY; Pixabay Content License)"
    base_url = "https://pixabay.com"
    example = "mountain lake"
    key_setting = KEY_SETTING
    options = (
        Option("size", "choice", "which size of each image (default large)", choices=tuple(SIZES)),
        Option(
            "image_type",
            "choice",
            "only images of this type",
            choices=("all", "photo", "illustration", "vector"),
        ),
        Option(
            "orientation",
            "choice",
            "only images of this orientation",
            choices=("all", "horizontal", "vertical"),
        ),
        Option("category", "choice", "only images of this category", choices=CATEGORIES),
        Option("min_width", "int", "smallest width in pixels", minimum=0),
        Option("min_height", "int", "smallest height in pixels", minimum=0),
        Option("colors", "str", "colour names, comma-separated (grayscale, red, ...)"),
        Option("editors_choice", "bool", "only Editor's Choice images"),
        Option("safesearch", "bool", "only images for all ages"),
        Option(
            "order", "choice", "order of results (default popular)", choices=("popular", "latest")
        ),
        Option("lang", "str", "the language of the query, e.g. de"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        key = self.require_key(ctx)
        opts = self.read_options(query)
        size: str = opts.get("size", "large")
        per_page = min(MAX_PER_PAGE, max(20, query.count))
        params: dict[str, str | int] = {
            "key": key,
            "q": query.text[:MAX_QUERY],
            "per_page": per_page,
        }
        for option, value in opts.items():
            if option in FILTERS:
                params[option] = str(value).lower() if isinstance(value, bool) else str(value)
        cache = (
            AnswerCache(ctx.answers, CACHE_FOR, log=ctx.log) if ctx.answers is not None else None
        )
        page = 1
        while not ctx.cancelled():
            data = await self._page(ctx, key, {**params, "page": page}, size, cache)
            hits: list[Any] = data["hits"]
            for hit in hits:
                if found := _found(hit, size):
                    yield found
            reachable = min(MAX_HITS, to_int(data.get("totalHits")) or 0)
            if not hits or page * per_page >= reachable:
                return
            page += 1

    async def _page(
        self,
        ctx: SourceContext,
        key: str,
        params: dict[str, str | int],
        size: str,
        cache: AnswerCache | None,
    ) -> dict[str, Any]:
        """One page of results: from the cache when fresh, else asked for (and then kept)."""
        asked = {
            "url": f"{ctx.base_url}/api/",
            "params": {k: v for k, v in params.items() if k != "key"},
        }
        kept = await cache.get(asked) if cache is not None else None
        if isinstance(kept, dict) and _readable(kept, size):
            ctx.log.debug("pixabay: page %s answered from the cache", params["page"])
            return kept
        try:
            resp = await keyed_get(
                ctx,
                self.name,
                key,
                f"{ctx.base_url}/api/",
                reset="seconds",
                params=params,
                allow_status=(400, 401, 403),
            )
        except SourceError as exc:
            raise _redacted(exc, key) from None
        resp = _safe(resp, key)
        _check(resp, key)
        rate_limit_notice(ctx, self.name, resp, reset="seconds")
        data = json_body(ctx, self.name, resp)
        if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
            raise format_changed(ctx, self.name, resp, 'answer without "hits"')
        if not _readable(data, size):
            raise format_changed(ctx, self.name, resp, "no hit held an image URL")
        if cache is not None:
            await cache.put(asked, data)
        return data


def _readable(data: Any, size: str) -> bool:
    """True for an answer holding a list of hits, none at all or some with an image URL."""
    if not isinstance(data, dict) or not isinstance(hits := data.get("hits"), list):
        return False
    return not hits or any(_found(hit, size) for hit in hits)


def _check(resp: HttpResponse, key: str) -> None:
    """Pixabay refuses a bad key with 400 "[ERROR 400] Invalid or missing API key" (or 401/403).

    ``resp`` already has the key blanked out of its URL; the body may echo it too.
    """
    if resp.status < 400:
        return
    text = resp.preview(200).replace(key, "***").strip()
    if resp.status in (401, 403) or "key" in text.lower():
        raise invalid_key(KEY_SETTING, resp, text)
    raise HTTPStatusError(resp.status, resp.url, text[:80])


def _safe(resp: HttpResponse, key: str) -> HttpResponse:
    """The response with the key blanked out of its URL, for messages and logs."""
    return replace(resp, url=resp.url.replace(key, "***"))


def _redacted(exc: SourceError, key: str) -> SourceError:
    """The same error with the key blanked out of its message (and URL)."""
    message = str(exc).replace(key, "***")
    exc.args = (message,)
    exc.message = message
    if isinstance(exc, HTTPStatusError):
        exc.url = exc.url.replace(key, "***")
    return exc


def _found(hit: Any, size: str) -> Found | None:
    if not isinstance(hit, dict):
        return None
    field, longest = SIZES[size]
    url = https_url(hit.get(field)) or https_url(hit.get("largeImageURL"))
    if url is None:
        return None
    if url != https_url(hit.get(field)):
        longest = SIZES["large"][1]
    full_w, full_h = to_int(hit.get("imageWidth")), to_int(hit.get("imageHeight"))
    width, height = full_w, full_h
    if longest and full_w and full_h and max(full_w, full_h) > longest:
        scale = longest / max(full_w, full_h)
        width, height = max(1, round(full_w * scale)), max(1, round(full_h * scale))
    tags = [t.strip() for t in str(hit.get("tags") or "").split(",") if t.strip()]
    user, user_id = clean_text(hit.get("user")), hit.get("user_id")
    metadata: dict[str, Any] = {
        "pixabay_id": hit.get("id"),
        "tags": tags,
        "original_width": full_w,
        "original_height": full_h,
    }
    for key in ("type", "views", "downloads", "likes", "imageSize"):
        if hit.get(key) is not None:
            metadata[key] = hit[key]
    return Found(
        url=url,
        page_url=https_url(hit.get("pageURL")),
        title=", ".join(tags) or None,
        author=user,
        author_url=f"https://pixabay.com/users/{user}-{user_id}/" if user and user_id else None,
        license=LICENSE,
        width=width,
        height=height,
        thumbnail_url=https_url(hit.get("previewURL")),
        item_id=item_id(hit.get("id")),
        metadata=metadata,
    )
