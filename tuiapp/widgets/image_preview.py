"""A picture drawn with half-block characters: two pixels per cell, works in any colour terminal.

Pillow decodes and scales; each cell is ``▀`` with the upper pixel as foreground and the lower as
background. Terminals with fewer colours get Textual's usual colour reduction.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.geometry import Size

__all__ = ["ImagePreview", "decode_image"]

MAX_PIXELS = 80_000_000
"""Larger images are not decoded for a preview (decompression bombs, memory)."""


def decode_image(data: bytes) -> Image.Image:
    """Decode image bytes into RGB (run it in a thread: large JPEGs take a while).

    Raises:
        ValueError: the bytes are not an image Pillow can read, or it is too large.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"{img.width}x{img.height} is too large to preview")
            img.draft("RGB", (1024, 1024))  # JPEG: decode at a reduced scale, much faster
            return img.convert("RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a picture this preview can show ({exc})") from None


class ImagePreview(Widget):
    """Shows an image scaled to fit the widget, keeping its aspect ratio."""

    DEFAULT_CSS = """
    ImagePreview { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image: Image.Image | None = None
        self._cache: tuple[Size, list[Strip]] | None = None

    @property
    def image(self) -> Image.Image | None:
        return self._image

    @image.setter
    def image(self, image: Image.Image | None) -> None:
        self._image = image
        self._cache = None
        self.refresh()

    def _strips(self) -> list[Strip]:
        size = self.content_size
        if self._cache is not None and self._cache[0] == size:
            return self._cache[1]
        strips: list[Strip] = []
        img = self._image
        if img is not None and size.width > 0 and size.height > 0:
            scale = min(size.width / img.width, size.height * 2 / img.height)
            w = max(1, round(img.width * scale))
            h = max(2, round(img.height * scale))
            h += h % 2
            small = img.resize((w, h), Image.Resampling.BOX)
            pixels = small.load()
            assert pixels is not None
            pad = (size.width - w) // 2
            for y in range(0, h, 2):
                segments = [Segment(" " * pad)] if pad else []
                for x in range(w):
                    top = pixels[x, y]
                    bottom = pixels[x, y + 1]
                    assert isinstance(top, tuple)
                    assert isinstance(bottom, tuple)
                    style = Style(color=_hex(top), bgcolor=_hex(bottom))
                    segments.append(Segment("▀", style))
                strips.append(Strip(segments, pad + w))
        self._cache = (size, strips)
        return strips

    def render_line(self, y: int) -> Strip:
        strips = self._strips()
        if y < len(strips):
            return strips[y].extend_cell_length(self.content_size.width)
        return Strip.blank(self.content_size.width)


def _hex(pixel: tuple[int, ...]) -> str:
    return f"#{pixel[0]:02x}{pixel[1]:02x}{pixel[2]:02x}"
