"""yt-dlp itself as tuiapp drives it: its options, a YoutubeDL that closes what it opens, a logger.

yt-dlp is imported inside functions only: listing the sources stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
from typing import TYPE_CHECKING, Any

from tuiapp.sources.ytdlp.errors import ANSI, clean_message

if TYPE_CHECKING:
    import logging
    from pathlib import Path

    from tuiapp.errors import SourceError
    from tuiapp.sources.ytdlp.options import VideoOptions

__all__ = ["Abort", "YtDlpLog", "abort", "params", "ydl_class"]


class Abort(Exception):
    """Raised inside yt-dlp (from a hook) to stop a download; carries what to tell the user.

    It derives from yt-dlp's ``DownloadCancelled`` at runtime (see :func:`abort`), which yt-dlp
    lets through its error handling untouched.
    """

    error: SourceError


@functools.cache
def _abort_class() -> type[Abort]:
    from yt_dlp.utils import DownloadCancelled

    class CancelledWith(DownloadCancelled, Abort):  # type: ignore[misc]
        pass

    return CancelledWith


@functools.cache
def ydl_class() -> type[Any]:
    """yt-dlp's ``YoutubeDL`` that closes, when it closes, every response it opened.

    Extractors leave responses open (the generic extractor reads only the headers of a video
    file; an error status is raised with its response unread) and the HTTP downloader does not
    close its response when a hook aborts it; those stay open until the garbage collector finds
    them, and the server keeps sending meanwhile.

    The responses are held strongly: one instance serves one listing or one download, and a
    response dropped into a reference cycle would otherwise be collected, socket unclosed,
    before :meth:`close` could reach it.
    """
    from yt_dlp import YoutubeDL
    from yt_dlp.networking.exceptions import HTTPError

    class ClosingYoutubeDL(YoutubeDL):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._open_responses: list[Any] = []
            super().__init__(*args, **kwargs)

        def urlopen(self, req: Any) -> Any:
            try:
                response = super().urlopen(req)
            except HTTPError as exc:  # an error status: its response is open too
                self._open_responses.append(exc.response)
                raise
            self._open_responses.append(response)
            return response

        def close_responses(self) -> None:
            """Close what was opened so far (the extractor's pages, before the download)."""
            responses, self._open_responses = self._open_responses, []
            for response in responses:
                with contextlib.suppress(Exception):
                    response.close()

        def close(self) -> None:
            self.close_responses()
            super().close()

    return ClosingYoutubeDL


def abort(error: SourceError) -> Abort:
    exc = _abort_class()(error.message)
    exc.error = error
    return exc


class YtDlpLog:
    """yt-dlp's logger: forwards to the source's log and remembers refusals yt-dlp only prints."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self.too_large: int | None = None
        """The size yt-dlp announced when it refused a file over ``max_filesize``."""

    def debug(self, msg: str) -> None:
        if "larger than max-filesize" in msg:
            match = re.search(r"\((\d+) bytes >", msg)
            self.too_large = int(match[1]) if match else -1
        self._log.debug("%s", ANSI.sub("", msg))

    def info(self, msg: str) -> None:
        self._log.debug("%s", ANSI.sub("", msg))

    def warning(self, msg: str) -> None:
        self._log.warning("%s", clean_message(msg))

    def error(self, msg: str) -> None:
        # Errors are raised as DownloadError and reported by the engine.
        self._log.debug("%s", clean_message(msg))


def params(opts: VideoOptions, log: YtDlpLog, workdir: Path) -> dict[str, Any]:
    """yt-dlp's options for one listing or download working in ``workdir``.

    The programs found for ``opts`` are handed over by path: ffmpeg as ``ffmpeg_location``,
    deno as the ``js_runtimes`` entry yt-dlp solves YouTube's challenges with, and the browser to
    impersonate (for the sites that need it) as an ``ImpersonateTarget``.
    """
    result: dict[str, Any] = {
        "format": opts.format,
        "quiet": True,
        "no_warnings": False,
        "noprogress": True,
        "logger": log,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "noplaylist": True,
        "retries": 3,
        "fragment_retries": 3,
        "extractor_retries": 2,
        "socket_timeout": opts.socket_timeout,
        "paths": {"home": str(workdir), "temp": str(workdir)},
        "outtmpl": {"default": "%(id).80B.%(ext)s"},
        "restrictfilenames": True,
        "overwrites": True,
        # Chosen by the engine's proxy rules; "" makes yt-dlp connect directly rather than
        # read the proxy variables its own way.
        "proxy": opts.proxy or "",
    }
    if opts.ffmpeg is not None:
        result["ffmpeg_location"] = opts.ffmpeg
    if opts.deno is not None:
        result["js_runtimes"] = {"deno": {"path": opts.deno}}
    if opts.impersonate is not None:
        from yt_dlp.networking.impersonate import ImpersonateTarget

        result["impersonate"] = ImpersonateTarget.from_str(opts.impersonate)
    if opts.cookies is not None:
        # yt-dlp writes refreshed cookies back on close: give it a private copy, so
        # downloads side by side never write the user's file at the same time.
        copy = workdir / "cookies.txt"
        shutil.copyfile(opts.cookies, copy)
        result["cookiefile"] = str(copy)
    if opts.cookies_from_browser:
        result["cookiesfrombrowser"] = (opts.cookies_from_browser,)
    return result
