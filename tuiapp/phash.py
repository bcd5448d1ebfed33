"""The perceptual hash of pictures: a 64-bit difference hash (dHash) of an image, Pillow alone.

A 9x8 grayscale thumbnail, one bit per pair of horizontal neighbours (is the left one brighter).
Resized, recompressed and slightly cropped copies of one picture land within a few bits of each
other; different pictures far apart, and the bits spread evenly enough for the quarter index
(README: the measurements, and why not an average hash or imagehash).
A JPEG is decoded at reduced scale (``Image.draft``, down to 1/8 while 48 px remain on its short
side): ~0.55 ms for a 50 KB JPEG. Only JPEG, PNG, GIF, WebP and BMP are opened.

The same process makes thumbnails (:func:`thumbnail`: longest side 320 px, WebP), since it is
where pictures are decoded.

Pure and blocking. The engine runs it in a process of its own (``python -m tuiapp.phash``, see
:func:`serve`): decoding holds the GIL long enough to slow the event loop from a thread, and a
decoder that crashes or swells on a hostile file takes only that process with it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import struct
import warnings
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from tuiapp.jobs import Fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

__all__ = [
    "ANSWER",
    "ASK",
    "LOOK",
    "MAX_DISTANCE",
    "MAX_HASH_BYTES",
    "MAX_THUMB_BYTES",
    "THUMB",
    "THUMB_SIDE",
    "fingerprint",
    "hamming",
    "phash",
    "serve",
    "thumbnail",
]

MAX_HASH_BYTES = 20 * 1024 * 1024
"""Files larger than this are not hashed (an image must be decoded whole)."""

MAX_DISTANCE = 6
"""Two images whose hashes differ in at most this many bits are one picture (tuned in README)."""

_T = TypeVar("_T")

_MAX_PIXELS = 100_000_000
_SHORT_SIDE = 48
"""Pixels a JPEG keeps on its short side when it is decoded at reduced scale."""
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
"""The formats opened: what the sources find (fewer decoders for a hostile file to reach)."""
_FEW_BITS = 8
"""A hash with fewer ones (or zeros) than this says too little to group pictures by."""
_FLAT = 2
"""A thumbnail whose grays differ by less than this has no picture to compare (a blank)."""


@functools.cache
def _pillow() -> ModuleType:
    """Pillow's Image, imported where pictures are decoded only (the engine's process that
    talks to the hashing process never loads it: ~10 MB)."""
    from PIL import Image

    # A picture beyond Pillow's bomb limit is refused as it is opened, in every thread (a filter
    # set around each call would not be thread-safe): the warning is an error from here on.
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    return Image


@contextlib.contextmanager
def _open(data: bytes) -> Iterator[Any]:
    """The picture in ``data``, open for the block; None for what is not one to open (empty, over
    ``MAX_HASH_BYTES``, not of ``_FORMATS``, over ``_MAX_PIXELS``, undecodable).

    A decoding error inside the block (a truncated or hostile file, a decompression bomb) ends
    the block and goes no further: what the block was making is left unmade.
    """
    if not data or len(data) > MAX_HASH_BYTES:
        yield None
        return
    Image: Any = _pillow()
    opened = False
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as img:
            width, height = img.size
            opened = width * height <= _MAX_PIXELS and width >= 1 and height >= 1
            yield img if opened else None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        if not opened:
            yield None


def fingerprint(data: bytes) -> Fingerprint | None:
    """The hash and size of an image; None for non-images, undecodable or blank ones."""
    gray: Any = None
    with _open(data) as img:
        if img is None:
            return None
        width, height = img.size
        # A JPEG is decoded at the smallest scale (down to 1/8: DC only, no inverse DCT,
        # ~40% less work than 1/2..1/4) that keeps 48 px on its short side; copies match as
        # often (README). Other formats are decoded whole.
        short = min(width, height)
        img.draft("L", (width * _SHORT_SIDE // short, height * _SHORT_SIDE // short))
        whole = img if img.mode == "L" else img.convert("L")
        gray = whole.resize((9, 8), _pillow().Resampling.LANCZOS)
    if gray is None:
        return None  # it did not decode
    pixels = [int(v) for v in gray.tobytes()]
    if max(pixels) - min(pixels) < _FLAT:
        return None
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    if not _FEW_BITS <= bits.bit_count() <= 64 - _FEW_BITS:
        return None  # nearly flat (a product on white, an icon): too little to tell pictures apart
    return Fingerprint(phash=bits, width=width, height=height, near=MAX_DISTANCE)


THUMB_SIDE = 320
"""Pixels on a thumbnail's longest side."""
MAX_THUMB_BYTES = 1024 * 1024
"""A thumbnail larger than this is not answered (a 320 px WebP is a few dozen KB)."""


def thumbnail(data: bytes) -> tuple[bytes, int, int] | None:
    """A WebP of the picture, its longest side ``THUMB_SIDE`` at most (turned upright as its EXIF
    says), with its width and height; None for non-images and undecodable ones."""
    with _open(data) as img:
        if img is None:
            return None
        from PIL import ImageOps

        # A JPEG is decoded at the smallest scale that keeps 320 px (Image.thumbnail's draft).
        img.thumbnail((THUMB_SIDE, THUMB_SIDE), _pillow().Resampling.LANCZOS)
        small = ImageOps.exif_transpose(img)
        clear = small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info
        small = small.convert("RGBA" if clear else "RGB")
        out = io.BytesIO()
        small.save(out, "WEBP", quality=80, method=4)
        if out.tell() > MAX_THUMB_BYTES:
            return None
        return out.getvalue(), small.width, small.height
    return None  # it did not decode


def phash(data: bytes) -> int | None:
    """The 64-bit perceptual hash of an image; None for non-images or undecodable data."""
    found = fingerprint(data)
    return None if found is None else found.phash


def hamming(a: int, b: int) -> int:
    """How many of the 64 bits differ."""
    return (a ^ b).bit_count()


ASK = struct.Struct("!IBI")
"""A request to the hashing process: its number, what is asked (``LOOK`` or ``THUMB``) and the
length of the file that follows."""
LOOK, THUMB = 0, 1
ANSWER = struct.Struct("!IBQII")
"""An answer: the request's number, then 0 (no picture), or 1 and the picture's hash, width and
height, or 2 and the length of the thumbnail that follows this header, its width and height."""
_MEMORY_CAP = 2 * 1024**3
"""Address space the hashing process may take (a decompression bomb fails, not the machine)."""


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until ``requests`` ends: the hashing process's loop."""
    while len(head := requests.read(ASK.size)) == ASK.size:
        number, kind, length = ASK.unpack(head)
        data = requests.read(length)
        if len(data) < length:
            return
        if kind == THUMB:
            small = _no_raise(thumbnail, data)
            if small is None:
                answers.write(ANSWER.pack(number, 0, 0, 0, 0))
            else:
                answers.write(ANSWER.pack(number, 2, len(small[0]), small[1], small[2]))
                answers.write(small[0])
            answers.flush()
            continue
        found = _no_raise(fingerprint, data)
        if found is None:
            answers.write(ANSWER.pack(number, 0, 0, 0, 0))
        else:
            answers.write(ANSWER.pack(number, 1, found.phash, found.width, found.height))
        answers.flush()


def _no_raise(make: Callable[[bytes], _T | None], data: bytes) -> _T | None:
    """``make(data)``, or None for whatever a decoder raises on a hostile file (no picture)."""
    try:
        return make(data)
    except Exception:
        return None


def _main() -> None:
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it closes our input
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_CAP, _MEMORY_CAP))
    except (ImportError, ValueError, OSError):
        pass
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    _main()
