"""dummyimage.com: plain images of a given size and colours with the query as their text.

dummyimage answers HTTP 200 with a text body ("Too big of an image!") on bad input; the engine's
content check turns that into a clear per-file error.
"""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from tuiapp.sources.palette import DrawnImageSource, format_option


class DummyimageSource(DrawnImageSource):
    name = "dummyimage"
    description = "Plain test images from dummyimage.com with the query as their text"
    base_url = "https://dummyimage.com"
    example = "https://dummyimage.com/600x400/09f/fff.png"
    pattern = re.compile(r"^https?://dummyimage\.com/(?P<path>\S+)$")
    formats = ("png", "gif", "jpg")
    options = (format_option(formats),)

    def image_url(
        self, base_url: str, size: tuple[int, int], colours: tuple[str, str], fmt: str, text: str
    ) -> str:
        # `&text=` goes straight after the path: dummyimage reads it without a `?`; `|` would
        # break the line.
        words = quote_plus(text.replace("|", " "))
        return f"{base_url}/{size[0]}x{size[1]}/{colours[0]}/{colours[1]}.{fmt}&text={words}"
