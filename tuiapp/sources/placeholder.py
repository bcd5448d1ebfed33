"""placehold.co: placeholder images drawn with the query as their text.

via.placeholder.com is gone; its URLs are accepted and rewritten to placehold.co.
placehold.co answers SVG unless asked otherwise, so a raster format is always asked for.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from tuiapp.sources.palette import DrawnImageSource, format_option


class PlaceholderSource(DrawnImageSource):
    name = "placeholder"
    description = "Placeholder images from placehold.co with the query as their text"
    base_url = "https://placehold.co"
    example = "https://placehold.co/600x400/png"
    pattern = re.compile(r"^https?://(?:placehold\.co|via\.placeholder\.com)/(?P<path>\S+)$")
    formats = ("png", "jpeg", "gif", "webp")
    options = (format_option(formats),)

    def image_url(
        self, base_url: str, size: tuple[int, int], colours: tuple[str, str], fmt: str, text: str
    ) -> str:
        words = quote(text, safe="")
        return f"{base_url}/{size[0]}x{size[1]}/{colours[0]}/{colours[1]}/{fmt}?text={words}"
