"""Real image files made for tests with Pillow (so a sniffer sees real magic bytes)."""

from __future__ import annotations

import io
import random

from PIL import Image


def png(width: int = 32, height: int = 24, seed: int = 0) -> bytes:
    """A PNG with random pixels: distinct seeds give distinct bytes (and sha256)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (width, height))
    img.putdata(
        [
            (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            for _ in range(width * height)
        ]
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 32, height: int = 24, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    img = Image.new(
        "RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    )
    out = io.BytesIO()
    img.save(out, format="JPEG")
    return out.getvalue()
