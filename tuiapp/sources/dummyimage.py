"""dummyimage.com: plain images of a given size and colours with the query as their text.

dummyimage answers HTTP 200 with a text body ("Too big of an image!") on bad input; the engine's
content check turns that into a clear per-file error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote_plus

from tuiapp.sources.base import Found, Source, SourceContext, SourceKind, SourceQuery
from tuiapp.sources.palette import SIZES, colour_pair

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

FORMATS = ("png", "gif", "jpg")


class DummyimageSource(Source):
    name = "dummyimage"
    kind: ClassVar[SourceKind] = "image_generator"
    description = "Plain test images from dummyimage.com with the query as their text"
    base_url = "https://dummyimage.com"
    example = "https://dummyimage.com/600x400/09f/fff.png"
    pattern = re.compile(r"^https?://dummyimage\.com/(?P<path>\S+)$")

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        fmt = str(query.options.get("format", "png")).lower()
        if fmt not in FORMATS:
            fmt = "png"
        if query.is_url:
            match = self.pattern.match(query.text) if self.pattern else None
            if match:
                yield Found(url=f"{ctx.base_url}/{match['path']}", title="dummyimage")
            return
        # `&text=` goes straight after the path: dummyimage reads it without a `?`.
        text = quote_plus(query.text.replace("|", " "))
        index = 0
        while True:
            w, h = SIZES[index % len(SIZES)]
            bg, fg = colour_pair(query.text, index)
            yield Found(
                url=f"{ctx.base_url}/{w}x{h}/{bg}/{fg}.{fmt}&text={text}",
                title=f"{query.text} ({w}x{h}, #{bg})",
                width=w,
                height=h,
                license="free placeholder",
                metadata={"background": bg, "foreground": fg, "format": fmt},
            )
            index += 1
