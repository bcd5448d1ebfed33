"""Sizes, colours and the shared base of the sources that draw placeholder images from a URL."""

from __future__ import annotations

import abc
import hashlib
from typing import TYPE_CHECKING, ClassVar

from tuiapp.sources.base import Found, Option, Source, SourceKind

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.sources.base import SourceContext, SourceQuery

SIZES: tuple[tuple[int, int], ...] = ((800, 600), (640, 480), (1024, 768), (600, 600), (1280, 720))

_COLOURS = (
    "1abc9c", "2ecc71", "3498db", "9b59b6", "34495e", "f1c40f", "e67e22", "e74c3c", "95a5a6",
    "16a085", "27ae60", "2980b9", "8e44ad", "2c3e50", "f39c12", "d35400", "c0392b", "7f8c8d",
)  # fmt: skip


def variants(text: str) -> list[tuple[tuple[int, int], tuple[str, str]]]:
    """Every (size, (background, foreground)) once, in an order the text picks.

    The same words give the same images; the list ends, so a source never repeats itself.
    """
    combos = [(size, bg) for bg in _COLOURS for size in SIZES]
    combos.sort(key=lambda c: hashlib.sha256(f"{text}\0{c[0]}\0{c[1]}".encode()).digest())
    return [(size, (bg, _foreground(bg))) for size, bg in combos]


def _foreground(bg: str) -> str:
    """Black or white, whichever reads better on ``bg``."""
    r, g, b = (int(bg[i : i + 2], 16) for i in (0, 2, 4))
    return "000000" if (r * 299 + g * 587 + b * 114) / 1000 > 150 else "ffffff"


def format_option(formats: tuple[str, ...]) -> Option:
    """The ``format`` option of a service drawing ``formats`` (the first is the default)."""
    return Option("format", "choice", f"image format (default {formats[0]})", choices=formats)


class DrawnImageSource(Source):
    """A service that draws an image of a size and colours, with the query as its text.

    There is no search: the source yields every size and colour once (90 images per query), and
    the engine stops pulling at the count. A URL of the service is passed through as it is.
    """

    kind: ClassVar[SourceKind] = "image_generator"
    formats: ClassVar[tuple[str, ...]]
    """Raster formats the service draws; the first is the default (declare
    ``options = (format_option(formats),)``)."""

    @abc.abstractmethod
    def image_url(
        self, base_url: str, size: tuple[int, int], colours: tuple[str, str], fmt: str, text: str
    ) -> str:
        """The URL of one image."""

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        if query.is_url:
            match = self.pattern.match(query.text) if self.pattern else None
            if match:
                yield Found(url=f"{ctx.base_url}/{match['path']}", title=self.name)
            return
        fmt: str = self.read_options(query).get("format", self.formats[0])
        for (w, h), (bg, fg) in variants(query.text):
            yield Found(
                url=self.image_url(ctx.base_url, (w, h), (bg, fg), fmt, query.text),
                title=f"{query.text} ({w}x{h}, #{bg})",
                width=w,
                height=h,
                license="free placeholder",
                metadata={"background": bg, "foreground": fg, "format": fmt},
            )
