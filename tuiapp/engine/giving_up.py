"""When a source gives up on its files: a host that keeps refusing, or far too many failures."""

from __future__ import annotations

from urllib.parse import urlsplit

from tuiapp.errors import SourceError, UnreachableError

__all__ = ["EXTRA_FAILURES", "OFFLINE_AFTER", "Failures"]

OFFLINE_AFTER = 3
"""Connection failures in a row to one host after which a source gives up on it."""
EXTRA_FAILURES = 10
"""Failed files a source may have beyond its count before it gives up."""


class Failures:
    """One source run's connection failures in a row, per host, and what they lead to."""

    def __init__(self) -> None:
        self._unreachable: dict[str, int] = {}

    def failed(self, exc: SourceError, url: str, *, failed: int, count: int) -> SourceError | None:
        """After a file failed (``failed`` so far, ``count`` asked): the error to give up with,
        or None to go on."""
        host = _host(url)
        if isinstance(exc, UnreachableError):
            self._unreachable[host] = self._unreachable.get(host, 0) + 1
            if self._unreachable[host] >= OFFLINE_AFTER:
                return exc
        else:
            self._unreachable.pop(host, None)
        if failed >= count + EXTRA_FAILURES:
            return SourceError(f"gave up after {failed} files failed (the last: {exc})")
        return None

    def stored(self, url: str) -> None:
        """A file of ``url``'s host was stored: its failures in a row start again."""
        self._unreachable.pop(_host(url), None)


def _host(url: str) -> str:
    """The host failures are counted by (the URL itself when it names none)."""
    return urlsplit(url).hostname or url
