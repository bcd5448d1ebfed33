"""The engine's perceptual hash: a 64-bit difference hash (dHash) of an image, with Pillow alone.

A 9x8 grayscale thumbnail, one bit per pair of horizontal neighbours (is the left one brighter).
Resized, recompressed and slightly cropped copies of one picture land within a few bits of each
other; different pictures far apart, and the bits spread evenly enough for the quarter index
(README: the measurements, and why not an average hash or imagehash).
JPEGs are decoded at reduced scale (``Image.draft``): a 12-megapixel JPEG costs ~13 ms.
Pure and blocking: the engine calls it in a worker thread.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

__all__ = ["MAX_DISTANCE", "MAX_HASH_BYTES", "Fingerprint", "fingerprint", "hamming", "phash"]

MAX_HASH_BYTES = 20 * 1024 * 1024
"""Files larger than this are not hashed (an image must be decoded whole)."""

MAX_DISTANCE = 6
"""Two images whose hashes differ in at most this many bits are one picture (tuned in README)."""

_MAX_PIXELS = 100_000_000
_FLAT = 2
"""A thumbnail whose grays differ by less than this has no picture to compare (a blank)."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What hashing learned of an image: the hash and the image's own size in pixels."""

    phash: int
    width: int
    height: int


def fingerprint(data: bytes) -> Fingerprint | None:
    """The hash and size of an image; None for non-images, undecodable or blank ones."""
    if not data or len(data) > MAX_HASH_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > _MAX_PIXELS or width < 1 or height < 1:
                    return None
                img.draft("L", (128, 128))  # JPEG: decoded at 1/2..1/8 scale, plenty for 9x8
                gray = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        return None
    pixels = [int(v) for v in gray.tobytes()]
    if max(pixels) - min(pixels) < _FLAT:
        return None
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return Fingerprint(phash=bits, width=width, height=height)


def phash(data: bytes) -> int | None:
    """The 64-bit perceptual hash of an image; None for non-images or undecodable data."""
    found = fingerprint(data)
    return None if found is None else found.phash


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ."""
    return (a ^ b).bit_count()
