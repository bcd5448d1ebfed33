"""Photo-like test images made with Pillow: gradients, shapes and a little noise (not random pixels)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter


def picture(seed: int, width: int = 800, height: int = 600) -> Image.Image:
    """A scene: a sky-to-ground gradient, a few shapes, soft noise; each seed its own picture."""
    rng = random.Random(seed)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(4, 9)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 10, width // 2), rng.randrange(height // 10, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
    noise = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    img = Image.blend(img, noise, 0.08)
    return img.filter(ImageFilter.GaussianBlur(1))


def encode(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, quality=quality)
    return out.getvalue()


def resized(img: Image.Image, width: int, height: int) -> Image.Image:
    return img.resize((width, height), Image.Resampling.LANCZOS)


def cropped(img: Image.Image, fraction: float) -> Image.Image:
    """The picture with ``fraction`` of its width and height cut off (half each side)."""
    dx, dy = round(img.width * fraction / 2), round(img.height * fraction / 2)
    return img.crop((dx, dy, img.width - dx, img.height - dy))
