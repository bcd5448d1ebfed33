"""placehold.co: placeholder images drawn with the query as their text.

via.placeholder.com is gone; its URLs are accepted and rewritten to placehold.co.
placehold.co answers SVG unless asked otherwise, so a raster format is always asked for.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from tuiapp.sources.base import Found, Source, SourceContext, SourceKind, SourceQuery
from tuiapp.sources.palette import SIZES, colour_pair

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

FORMATS = ("png", "jpeg", "gif", "webp")


class PlaceholderSource(Source):
    name = "placeholder"
    kind: ClassVar[SourceKind] = "image_generator"
    description = "Placeholder images from placehold.co with the query as their text"
    base_url = "https://placehold.co"
    example = "https://placehold.co/600x400/png"
    pattern = re.compile(r"^https?://(?:placehold\.co|via\.placeholder\.com)/(?P<path>\S+)$")

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        fmt = str(query.options.get("format", "png")).lower()
        if fmt not in FORMATS:
            fmt = "png"
        if query.is_url:
            match = self.pattern.match(query.text) if self.pattern else None
            if match:
                yield Found(url=f"{ctx.base_url}/{match['path']}", title="placeholder")
            return
        text = quote(query.text, safe="")
        index = 0
        while True:  # endless: the engine stops pulling at the count
            w, h = SIZES[index % len(SIZES)]
            bg, fg = colour_pair(query.text, index)
            yield Found(
                url=f"{ctx.base_url}/{w}x{h}/{bg}/{fg}/{fmt}?text={text}",
                title=f"{query.text} ({w}x{h}, #{bg})",
                width=w,
                height=h,
                license="free placeholder",
                metadata={"background": bg, "foreground": fg, "format": fmt},
            )
            index += 1
