"""Sizes and colours shared by the placeholder-image sources (not a source itself)."""

from __future__ import annotations

import hashlib

SIZES: tuple[tuple[int, int], ...] = ((800, 600), (640, 480), (1024, 768), (600, 600), (1280, 720))

_COLOURS = (
    "1abc9c", "2ecc71", "3498db", "9b59b6", "34495e", "f1c40f", "e67e22", "e74c3c", "95a5a6",
    "16a085", "27ae60", "2980b9", "8e44ad", "2c3e50", "f39c12", "d35400", "c0392b", "7f8c8d",
)  # fmt: skip


def colour_pair(text: str, index: int) -> tuple[str, str]:
    """A background colour picked from the text and index, and a readable foreground for it."""
    digest = hashlib.sha256(f"{text}\0{index}".encode()).digest()
    bg = _COLOURS[digest[0] % len(_COLOURS)]
    r, g, b = (int(bg[i : i + 2], 16) for i in (0, 2, 4))
    fg = "000000" if (r * 299 + g * 587 + b * 114) / 1000 > 150 else "ffffff"
    return bg, fg
