"""The download runner: one video from yt-dlp into the scratch dir, in a worker thread.

yt-dlp's blocking calls cannot be cancelled from asyncio. The progress hook (called for every block
read) and the retry back-off raise as soon as ``TransferContext.cancelled()`` is true, and the
coroutine returns at once when it sees the flag, leaving the thread to end at its next hook call or
socket timeout; the thread removes its own partial files. Every response yt-dlp opened is closed
with it (see :func:`ydl.ydl_class`).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuiapp.errors import FetchError, SourceError, TooLargeError
from tuiapp.sources.base import DownloadedFile
from tuiapp.sources.ytdlp.errors import error_for
from tuiapp.sources.ytdlp.options import as_float, as_int
from tuiapp.sources.ytdlp.ydl import Abort, YtDlpLog, abort, params, ydl_class

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tuiapp.sources.base import TransferContext
    from tuiapp.sources.ytdlp.options import VideoOptions

__all__ = ["METADATA_KEYS", "Progress", "download"]

REPORT_INTERVAL = 0.25
"""Seconds between progress reports of one download. While bytes move they are reported at
least this often, so the engine's stall detection sees life; a silent transfer reports nothing."""
POLL_INTERVAL = 0.1
"""How often a waiting download coroutine looks at the cancel flag."""
METADATA_KEYS = (
    "id",
    "title",
    "uploader",
    "uploader_id",
    "uploader_url",
    "channel",
    "channel_id",
    "channel_url",
    "duration",
    "webpage_url",
    "thumbnail",
    "extractor",
    "extractor_key",
    "upload_date",
    "timestamp",
    "release_timestamp",
    "view_count",
    "like_count",
    "width",
    "height",
    "fps",
    "ext",
    "format",
    "format_id",
    "vcodec",
    "acodec",
    "filesize",
    "age_limit",
    "tags",
    "categories",
    "description",
)
"""What of yt-dlp's info dict goes into an asset's metadata (the rest is formats and internals)."""
DESCRIPTION_LIMIT = 2000


class Progress:
    """yt-dlp's progress hook, and the throttled reports made from what it saw.

    The hook runs in the worker thread for every block: it checks the cancel flag and the size
    limit and keeps the latest numbers. The download coroutine passes them on a few times a
    second (:meth:`flush`), so a burst's last numbers are reported even when no block follows,
    and a silent transfer reports nothing (which is how the engine sees a stall).

    Hook dicts may carry unknown ``status`` values and None totals. Bytes of files that already
    finished (video, then audio) are added to the count of the one in flight.
    """

    def __init__(self, tctx: TransferContext, max_size: int) -> None:
        self._tctx = tctx
        self._max_size = max_size
        self._finished: dict[str, int] = {}
        self._latest: dict[str, Any] | None = None
        self._reported: dict[str, Any] | None = None
        self._last = 0.0

    def __call__(self, status: Mapping[str, Any]) -> None:
        if self._tctx.cancelled():
            raise abort(FetchError("the download was stopped"))
        state = status.get("status")
        if state not in ("downloading", "finished"):
            return
        name = str(status.get("filename"))
        done = as_int(status.get("downloaded_bytes")) or 0
        total = as_int(status.get("total_bytes"))
        estimate = total if total is not None else as_int(status.get("total_bytes_estimate"))
        before = sum(n for f, n in self._finished.items() if f != name)
        if state == "finished":
            self._finished[name] = done
        if before + max(done, total or 0) > self._max_size:
            raise abort(
                TooLargeError(
                    f"the video is {before + max(done, total or 0):,} bytes or more,"
                    f" more than the limit {self._max_size:,}"
                )
            )
        # One assignment: the reading side sees the old dict or the new one, never half of one.
        self._latest = {
            "downloaded": before + done,
            "total": None if estimate is None else before + estimate,
            "speed": as_float(status.get("speed")),
            "eta": as_float(status.get("eta")),
            "fragment_index": as_int(status.get("fragment_index")),
            "fragment_count": as_int(status.get("fragment_count")),
        }

    def flush(self, *, force: bool = False) -> None:
        """Report the latest numbers if they changed, at most every ``REPORT_INTERVAL``."""
        latest = self._latest
        now = time.monotonic()
        if latest is None or latest is self._reported:
            return
        if force or now - self._last >= REPORT_INTERVAL:
            self._last = now
            self._reported = latest
            self._tctx.report(**latest)

    def retry_wait(self, n: int) -> float:
        """yt-dlp's back-off before retry ``n``; the one place a stalled download looks up."""
        if self._tctx.cancelled():
            raise abort(FetchError("the download was stopped"))
        return min(0.5 * (n + 1), 2.0)


async def download(
    url: str, opts: VideoOptions, tctx: TransferContext, *, source: str
) -> DownloadedFile:
    """Download one video into ``tctx.scratch_dir``.

    Returns as soon as ``tctx.cancelled()`` turns true, without waiting for the thread.

    Args:
        source: the source's name (its log, and its settings named in error advice).

    Raises:
        SourceError: what yt-dlp ran into, mapped (see :func:`error_for`).
    """
    max_size = min(tctx.max_size, opts.max_size or tctx.max_size)
    progress = Progress(tctx, max_size)
    work = asyncio.ensure_future(
        asyncio.to_thread(_download_blocking, url, opts, tctx, progress, max_size, source)
    )
    work.add_done_callback(_consume)
    while not work.done():
        await asyncio.wait({work}, timeout=POLL_INTERVAL)
        if work.done():
            break
        if tctx.cancelled():
            raise FetchError(f"{url}: the download was stopped")
        progress.flush()
    result = work.result()
    progress.flush(force=True)
    return result


def _download_blocking(
    url: str,
    opts: VideoOptions,
    tctx: TransferContext,
    hook: Progress,
    max_size: int,
    source: str,
) -> DownloadedFile:
    from yt_dlp.utils import DownloadCancelled, YoutubeDLError

    tctx.scratch_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="dl-", dir=tctx.scratch_dir))
    try:
        log = YtDlpLog(logging.getLogger(f"tuiapp.sources.{source}"))
        options = params(opts, log, workdir)
        options.update(
            {
                "max_filesize": max_size,
                "progress_hooks": [hook],
                "retry_sleep_functions": {
                    "http": hook.retry_wait,
                    "fragment": hook.retry_wait,
                },
                # A silent socket fails a little after the engine's stall detection fires,
                # so the engine decides, and the thread never outlives it by much.
                "socket_timeout": tctx.stall_timeout + 1.0,
                "playlist_items": "1",
            }
        )
        with ydl_class()(options) as ydl:
            try:
                info = ydl.extract_info(url, download=False)
                ydl.close_responses()
                info = _single(info, url)
                _check_before_download(info, url, max_size)
                info = ydl.process_ie_result(info, download=True)
            except Abort as exc:
                raise exc.error from None
            except DownloadCancelled:
                raise FetchError(f"{url}: the download was stopped") from None
            except YoutubeDLError as exc:
                raise error_for(exc, source) from None
            if tctx.cancelled():
                raise FetchError(f"{url}: the download was stopped")
            path = _output_file(info, workdir)
            if path is None:
                if log.too_large is not None:
                    size = f"{log.too_large:,} bytes" if log.too_large > 0 else "too large"
                    raise TooLargeError(f"{url} is {size}, more than the limit {max_size:,}")
                raise SourceError(f"{url}: yt-dlp finished without writing a file")
            metadata = _metadata(ydl.sanitize_info(info))
        final = tctx.scratch_dir / f"{workdir.name}-{path.name}"
        path.replace(final)
        mime, _ = mimetypes.guess_type(final.name)
        return DownloadedFile(final, mime, metadata)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _consume(task: asyncio.Future[Any]) -> None:
    # A download abandoned on cancel still ends with an exception; read it so it is not logged.
    if not task.cancelled():
        task.exception()


def _single(info: Any, url: str) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise SourceError(f"{url}: yt-dlp found nothing to download")
    if info.get("_type") in ("playlist", "multi_video"):
        entries = [e for e in info.get("entries") or () if isinstance(e, dict)]
        if not entries:
            raise SourceError(f"{url}: the playlist is empty")
        return entries[0]
    return info


def _check_before_download(info: Mapping[str, Any], url: str, max_size: int) -> None:
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise SourceError(f"{url} is a live stream; tuiapp downloads only finished videos")
    size = as_int(info.get("filesize"))
    if size is None:
        parts = info.get("requested_formats") or ()
        sizes = [as_int(f.get("filesize")) for f in parts if isinstance(f, dict)]
        size = sum(s for s in sizes if s) if sizes and all(sizes) else None
    if size is not None and size > max_size:
        raise TooLargeError(f"{url} is {size:,} bytes, more than the limit {max_size:,}")


def _output_file(info: Any, workdir: Path) -> Path | None:
    """The file yt-dlp wrote, if it wrote one."""
    if isinstance(info, dict):
        for item in info.get("requested_downloads") or ():
            path = item.get("filepath") if isinstance(item, dict) else None
            if path and Path(path).is_file():
                return Path(path)
    files = [
        p
        for p in workdir.iterdir()
        if p.is_file() and p.suffix not in {".part", ".ytdl", ".txt"} and ".part-" not in p.name
    ]
    return max(files, key=lambda p: p.stat().st_size) if files else None


def _metadata(info: Mapping[str, Any] | None) -> dict[str, Any]:
    if not info:
        return {}
    data = {k: info[k] for k in METADATA_KEYS if info.get(k) is not None}
    if isinstance(data.get("description"), str):
        data["description"] = data["description"][:DESCRIPTION_LIMIT]
    return data
