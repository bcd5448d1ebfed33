"""A picture in the terminal through textual-image: real pixels where the terminal can show them.

textual-image asks the terminal, once and before Textual starts, which graphics it speaks: Sixel
or the Kitty graphics protocol (both work over SSH in kitty, WezTerm, foot, iTerm2, Windows
Terminal) draw the image's own pixels; any other colour terminal gets half-cell blocks. A
headless app (tests, snapshots) always draws half-cells, so what it shows does not depend on
the terminal the tests ran in. Pillow decodes, in a thread, with a cap on the pixel count.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image
from textual.containers import Center, Middle
from textual.widget import Widget

# Importing textual_image.widget queries the terminal: it must happen before Textual starts,
# which importing this module (with the app) does.
from textual_image.renderable import Image as _DetectedRenderable
from textual_image.renderable.unicode import Image as _UnicodeRenderable
from textual_image.widget import HalfcellImage
from textual_image.widget import Image as DetectedImage

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["ImagePreview", "decode_image", "detected_protocol"]

MAX_PIXELS = 80_000_000
"""Larger images are not decoded for a preview (decompression bombs, memory)."""


def detected_protocol() -> str:
    """How this terminal shows pictures: ``sixel``, ``kitty``, or ``half-cell``."""
    name = _DetectedRenderable.__module__.rsplit(".", 1)[-1]
    return {"sixel": "sixel", "tgp": "kitty"}.get(name, "half-cell")


def decode_image(data: bytes) -> Image.Image:
    """Decode image bytes into RGB (run it in a thread: large JPEGs take a while).

    Raises:
        ValueError: the bytes are not an image Pillow can read, or it is too large.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"{img.width}x{img.height} is too large to preview")
            img.draft("RGB", (2048, 2048))  # JPEG: decode at a reduced scale, much faster
            return img.convert("RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a picture this preview can show ({exc})") from None


class ImagePreview(Widget):
    """Shows an image scaled to fit, keeping its aspect ratio, centred."""

    DEFAULT_CSS = """
    ImagePreview { width: 1fr; height: 1fr; }
    ImagePreview Middle { height: 1fr; }
    ImagePreview .picture { width: auto; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image: Image.Image | None = None

    def compose(self) -> ComposeResult:
        headless = self.app.is_headless
        detected = _DetectedRenderable is not _UnicodeRenderable
        picture = DetectedImage if detected and not headless else HalfcellImage
        with Middle(), Center():
            yield picture(self._image, classes="picture")

    @property
    def protocol(self) -> str:
        """What draws the picture here: the detected protocol, or half-cell when headless."""
        return detected_protocol() if not self.app.is_headless else "half-cell"

    @property
    def image(self) -> Image.Image | None:
        return self._image

    @image.setter
    def image(self, image: Image.Image | None) -> None:
        self._image = image
        for picture in self.query(".picture"):
            picture.image = image  # type: ignore[attr-defined]
