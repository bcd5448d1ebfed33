"""Pexels photo search through the official API (needs ``PEXELS_API_KEY``).

``GET /v1/search`` with the raw key in ``Authorization`` (no "Bearer"). Pages are followed while
the answer has a ``next_page``; the page number is taken from it but the request always goes to
the configured host. Remaining quota (``X-Ratelimit-Remaining``/``-Limit``/``-Reset``, the reset
as a UNIX time) is shown as a notice and remembered: once it is spent, no request is sent until
the reset time (Pexels' 429 answers carry no such headers, so the last success is what tells).
Pexels asks for credit to the photographer and to Pexels;
both are kept with every photo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tuiapp.sources._common import (
    clean_text,
    format_changed,
    https_url,
    invalid_key,
    json_list,
    keyed_get,
    mapping,
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

KEY_SETTING = "PEXELS_API_KEY"
MAX_PER_PAGE = 80
SIZES = ("original", "large2x", "large", "medium", "small", "portrait", "landscape", "tiny")
FILTERS = ("orientation", "size", "color", "locale")
LICENSE = "Pexels License"


class PexelsSource(Source):
    name = "pexels"
    kind: ClassVar[SourceKind] = "image_api"
    description = "Free photos from pexels.com (API key PEXELS_API_KEY; Pexels License)"
    base_url = "https://api.pexels.com"
    example = "mountain lake"
    key_setting = KEY_SETTING
    options = (
        Option(
            "variant", "choice", "which of each photo's sizes (default original)", choices=SIZES
        ),
        Option(
            "orientation",
            "choice",
            "only photos of this orientation",
            choices=("landscape", "portrait", "square"),
        ),
        Option("size", "choice", "smallest photo size", choices=("large", "medium", "small")),
        Option("color", "str", "a colour name (red, ...) or a hex code (ffffff)"),
        Option("locale", "str", "the language of the query, e.g. de-DE"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        key = self.require_key(ctx)
        headers = {"Authorization": key}
        opts = self.read_options(query)
        variant: str = opts.get("variant", "original")
        per_page = min(MAX_PER_PAGE, max(15, query.count))
        params: dict[str, str | int] = {"query": query.text, "per_page": per_page}
        params.update({k: v for k, v in opts.items() if k in FILTERS})
        seen: set[str] = set()
        page: int | None = 1
        while page is not None and not ctx.cancelled():
            resp = await keyed_get(
                ctx,
                self.name,
                key,
                f"{ctx.base_url}/v1/search",
                reset="epoch",
                params={**params, "page": page},
                headers=headers,
                allow_status=(401, 403),
            )
            if resp.status in (401, 403):
                raise invalid_key(KEY_SETTING, resp)
            rate_limit_notice(ctx, self.name, resp, reset="epoch")
            data, photos = json_list(ctx, self.name, resp, "photos")
            items = [found for photo in photos if (found := _found(photo, variant))]
            if photos and not items:
                raise format_changed(ctx, self.name, resp, "no photo held a src URL")
            for found in items:
                # Results shift between pages as photos are added; never hand one over twice.
                photo_id = str(found.metadata.get("pexels_id") or found.url)
                if photo_id in seen:
                    continue
                seen.add(photo_id)
                yield found
            page = _next_page(data.get("next_page"), page) if photos else None


def _next_page(next_url: Any, current: int) -> int | None:
    """The page ``next_page`` points at; None on the last page."""
    if not isinstance(next_url, str) or not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get("page")
    if values and values[0].isdigit() and int(values[0]) > current:
        return int(values[0])
    return current + 1


def _found(photo: Any, variant: str) -> Found | None:
    if not isinstance(photo, dict):
        return None
    src = mapping(photo.get("src"))
    url = https_url(src.get(variant)) or https_url(src.get("original"))
    if url is None:
        return None
    exact = variant == "original" or url == https_url(src.get("original"))
    metadata: dict[str, Any] = {
        "pexels_id": photo.get("id"),
        "credit": "Photos provided by Pexels",
        "original_width": to_int(photo.get("width")),
        "original_height": to_int(photo.get("height")),
    }
    for key in ("avg_color", "photographer_id"):
        if photo.get(key) is not None:
            metadata[key] = photo[key]
    return Found(
        url=url,
        page_url=https_url(photo.get("url")),
        title=clean_text(photo.get("alt")),
        author=clean_text(photo.get("photographer")),
        author_url=https_url(photo.get("photographer_url")),
        license=LICENSE,
        # Only the original's size is known; the resized variants are cut to fit boxes.
        width=to_int(photo.get("width")) if exact else None,
        height=to_int(photo.get("height")) if exact else None,
        thumbnail_url=https_url(src.get("tiny")) or https_url(src.get("small")),
        item_id=item_id(photo.get("id")),
        metadata=metadata,
    )
