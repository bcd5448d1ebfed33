"""HTTP byte ranges and entity tags for serving stored files."""

from __future__ import annotations

import re

from tuiapp.server.common import whole

__all__ = ["RangeNotSatisfiable", "byte_range", "etag_matches"]

_RANGE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """A well-formed byte range that lies wholly past the end of the file."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` a ``Range`` header asks for (stop exclusive), None for all of it.

    Only a single ``bytes=`` range is honoured; other forms (several ranges, other units,
    malformed values) are ignored and the whole file is sent, as RFC 9110 allows.

    Raises:
        RangeNotSatisfiable: the range starts at or past the end of the file.
    """
    if header is None or (match := _RANGE.fullmatch(header)) is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        if not last:
            return None
        suffix = whole(last) or 0
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size
    start = whole(first) or 0
    stop = size if not last else (whole(last) or 0) + 1
    if last and stop <= start:
        return None  # "bytes=5-2" is malformed: ignore it
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(stop, size)


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: any listed tag equals ours (weak comparison), or ``*``."""
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
