"""Lorem Picsum: a catalogue of free photos, listed through its `/v2/list` API.

Picsum has no search: the query picks where in the catalogue to start (the same words always
give the same photos), so different queries give different photos.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from tuiapp.errors import FormatChangedError
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

PAGE_SIZE = 30
CATALOGUE_PAGES = 30
"""Picsum lists about 1000 photos: 30 pages of 30 where every page is full."""
DEFAULT_WIDTH = 1200
MAX_WIDTH = 5000
"""Picsum draws nothing wider."""


class PicsumSource(Source):
    name = "picsum"
    kind: ClassVar[SourceKind] = "image_generator"
    description = "Free photos from picsum.photos (no search: the query picks the photos)"
    base_url = "https://picsum.photos"
    example = "https://picsum.photos/id/237/200/300"
    pattern = re.compile(
        r"^https?://(?:fastly\.)?picsum\.photos/id/(?P<id>\d+)"
        r"(?:/(?P<w>\d+)(?:/(?P<h>\d+))?)?(?:\.\w+)?/?(?:[?#].*)?$"
    )
    options = (
        Option(
            "width",
            "int",
            f"image width in pixels (default {DEFAULT_WIDTH}; never above the photo's own)",
            minimum=1,
            maximum=MAX_WIDTH,
        ),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        width: int = self.read_options(query).get("width", DEFAULT_WIDTH)
        if query.is_url:
            match = self.pattern.match(query.text) if self.pattern else None
            if match:
                info = (await ctx.http.get(f"{ctx.base_url}/id/{match['id']}/info")).json()
                found = self._found(info, ctx.base_url, width)
                if match["w"]:
                    # The URL names its size (/id/237/200/300, or /200 for a square): keep it.
                    w = min(int(match["w"]), MAX_WIDTH)
                    h = min(int(match["h"] or match["w"]), MAX_WIDTH)
                    found = replace(
                        found, url=f"{ctx.base_url}/id/{match['id']}/{w}/{h}.jpg", width=w, height=h
                    )
                yield found
            return
        digest = hashlib.sha256(query.text.lower().encode()).digest()
        first = digest[0] % CATALOGUE_PAGES + 1
        page = first
        while True:
            resp = await ctx.http.get(
                f"{ctx.base_url}/v2/list", params={"page": page, "limit": PAGE_SIZE}
            )
            items = resp.json()
            if not isinstance(items, list):
                raise FormatChangedError(
                    f"picsum /v2/list answered {type(items).__name__}, not a list:"
                    f" {resp.preview()!r}"
                )
            if not items:
                if page == 1:
                    return  # an empty catalogue
                page = 1  # wrapped past the end: go on from the start
                continue
            for info in items:
                yield self._found(info, ctx.base_url, width)
            page += 1
            if page == first:
                return

    @staticmethod
    def _found(info: Any, base_url: str, width: int) -> Found:
        try:
            photo_id = str(info["id"])
            full_w, full_h = int(info["width"]), int(info["height"])
            if full_w <= 0 or full_h <= 0:
                raise ValueError("a size of zero")
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatChangedError(f"picsum item without id/width/height: {info!r:.120}") from exc
        w = min(width, full_w)
        h = max(1, round(full_h * w / full_w))
        thumb_h = max(1, round(full_h * 200 / full_w))
        return Found(
            url=f"{base_url}/id/{photo_id}/{w}/{h}.jpg",
            page_url=info.get("url"),
            title=f"Picsum photo {photo_id}",
            author=info.get("author"),
            license="Unsplash License",
            width=w,
            height=h,
            thumbnail_url=f"{base_url}/id/{photo_id}/200/{thumb_h}.jpg",
            item_id=item_id(photo_id),
            metadata={"picsum_id": photo_id, "original_width": full_w, "original_height": full_h},
        )
