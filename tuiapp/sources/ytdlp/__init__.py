"""Video sites through yt-dlp: the shared base of the video sources, in rooms.

- ``source``: :class:`YtDlpSource`, the base class (listing, one Found per video).
- ``options``: :class:`VideoOptions`, what a user may choose, and the format it makes.
- ``tools``: where ffmpeg and the JavaScript runtime are, and whether impersonation is possible.
- ``ydl``: yt-dlp's options, a YoutubeDL that closes every response it opened, its logger.
- ``download``: the runner of one download in a worker thread, with its progress hook.
- ``errors``: yt-dlp's failures as tuiapp errors with advice.
- ``generic``: the videos of a page the ``direct`` source met (yt-dlp's generic extractor).

Like every source, these rooms never import the engine, storage, config or a user interface.
"""

from __future__ import annotations

from tuiapp.sources.ytdlp.errors import clean_message, error_for
from tuiapp.sources.ytdlp.options import VideoOptions, needs_merge
from tuiapp.sources.ytdlp.source import YtDlpSource, listing_limit

# The name tests use to reach the YoutubeDL class every listing and download builds.
from tuiapp.sources.ytdlp.ydl import ydl_class as _ydl_class

__all__ = [
    "VideoOptions",
    "YtDlpSource",
    "_ydl_class",
    "clean_message",
    "error_for",
    "listing_limit",
    "needs_merge",
]
