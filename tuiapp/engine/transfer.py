"""Moving one item's bytes into a sink: over HTTP, or with the source's own downloader (yt-dlp).

The one room where bytes are downloaded. It knows nothing of jobs, events or the engine: it
checks stalls, sizes and the kind of the bytes, and reports progress through a callable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tuiapp.errors import ContentRejectedError, StalledError, TooLargeError
from tuiapp.fetch import accepts, sniff
from tuiapp.sources.base import TransferContext

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tuiapp.fetch import Fetcher
    from tuiapp.sources.base import DownloadedFile, Found

__all__ = ["Progress", "Sink", "Transferred", "transfer"]

_FILE_READ = 1 << 20


class Sink(Protocol):
    """Where the bytes go (a storage blob sink), in order."""

    async def write(self, data: bytes) -> None: ...


class Progress(Protocol):
    """``progress(done, total, **extra)``: bytes moved so far, the size if known, and extras
    a source's downloader reports (speed, eta, fragment_index, fragment_count)."""

    def __call__(self, done: int, total: int | None, **extra: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Transferred:
    """What a finished transfer was: the sniffed media type and the downloader's metadata."""

    mime: str
    metadata: dict[str, Any]


async def transfer(
    item: Found,
    sink: Sink,
    *,
    fetcher: Fetcher,
    scratch: Path,
    max_size: int,
    stall_timeout: float,
    progress: Progress,
    cancelled: Callable[[], bool],
) -> Transferred:
    """Move the bytes of ``item`` into ``sink``.

    Args:
        item: what a source found; its ``download`` (if any) is the source's own downloader.
        sink: receives the bytes in order.
        fetcher: the HTTP client (checks where connections go, retries, stalls, size, sniffing).
        scratch: a directory the source's downloader may write into.
        max_size: the largest file accepted, in bytes.
        stall_timeout: seconds without a sign of life after which the transfer is abandoned.
        progress: called with the bytes moved so far.
        cancelled: true once the job stops; a source's downloader polls it from its thread.

    Returns:
        The media type and metadata of the file.

    Raises:
        SourceError: a subclass saying why nothing usable arrived.
    """
    if item.download is None:
        result = await fetcher.download(
            item.url,
            write=sink.write,
            expect=item.expect,
            headers=item.headers or None,
            max_size=max_size,
            progress=progress,
        )
        return Transferred(result.mime, {})
    return await _own_download(
        item,
        sink,
        scratch=scratch,
        max_size=max_size,
        stall_timeout=stall_timeout,
        progress=progress,
        cancelled=cancelled,
    )


async def _own_download(
    item: Found,
    sink: Sink,
    *,
    scratch: Path,
    max_size: int,
    stall_timeout: float,
    progress: Progress,
    cancelled: Callable[[], bool],
) -> Transferred:
    """Run a source's own downloader with stall detection, then move the file it made."""
    assert item.download is not None
    loop = asyncio.get_running_loop()
    last_sign = time.monotonic()
    stalled = threading.Event()

    def report(**values: Any) -> None:  # called from worker threads
        def apply() -> None:
            nonlocal last_sign
            last_sign = time.monotonic()
            downloaded = int(values.pop("downloaded", 0) or 0)
            total = values.pop("total", None)
            progress(downloaded, total, **values)

        loop.call_soon_threadsafe(apply)

    def stop() -> bool:
        return cancelled() or stalled.is_set()

    await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
    tctx = TransferContext(
        scratch_dir=scratch,
        max_size=max_size,
        stall_timeout=stall_timeout,
        report=report,
        cancelled=stop,
    )
    task = asyncio.ensure_future(item.download(tctx))
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=min(1.0, stall_timeout / 4))
            if not task.done() and time.monotonic() - last_sign > stall_timeout:
                stalled.set()
                with contextlib.suppress(BaseException):
                    await task
                raise StalledError(
                    f"{item.url}: no progress for REQUEST_TIMEOUT ({stall_timeout:g} s); abandoned"
                )
        result: DownloadedFile = task.result()
    except BaseException:
        stalled.set()
        if not task.done():
            task.cancel()
        raise
    try:
        size = result.path.stat().st_size
        if size > max_size:
            raise TooLargeError(f"{item.url} is {size:,} bytes, more than the limit {max_size:,}")
        with result.path.open("rb") as fh:
            head = await asyncio.to_thread(fh.read, _FILE_READ)
            mime = sniff(head[:512], result.mime)
            if not accepts(item.expect, mime):
                raise ContentRejectedError(
                    f"expected {item.expect} from {item.url}, got {mime or 'an unknown type'}"
                )
            piece = head
            while piece:
                await sink.write(piece)
                piece = await asyncio.to_thread(fh.read, _FILE_READ)
    finally:
        with contextlib.suppress(OSError):
            result.path.unlink()
    return Transferred(mime or result.mime or "application/octet-stream", dict(result.metadata))
