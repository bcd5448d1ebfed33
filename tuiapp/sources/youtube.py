"""YouTube through yt-dlp: search words become a ``ytsearchN:`` listing; URLs are listed as given.

Full format support wants yt-dlp's JavaScript challenge solver (``yt-dlp[default]``) and a JS
runtime: tuiapp hands yt-dlp the deno on PATH, else the one the ``deno`` package ships
(``TUIAPP_SOURCE_YOUTUBE__DENO`` names another). ffmpeg, which merges the separate video and
audio streams, is found the same way (PATH's, else ``imageio-ffmpeg``'s;
``TUIAPP_SOURCE_YOUTUBE__FFMPEG``). Bot checks ("Sign in to confirm you're not a bot") need a
cookies file: ``TUIAPP_SOURCE_YOUTUBE__COOKIES``.
"""

from __future__ import annotations

import re

from tuiapp.sources.ytdlp import YtDlpSource


class YoutubeSource(YtDlpSource):
    name = "youtube"
    description = "YouTube videos: search words, or a video, playlist or channel URL (yt-dlp)"
    base_url = "https://www.youtube.com"
    example = "https://www.youtube.com/watch?v=BaW_jenozKc"
    pattern = re.compile(
        r"^https?://(?:(?:[a-z0-9-]+\.)?youtube(?:-nocookie)?\.com|youtu\.be)/", re.IGNORECASE
    )
    takes_query = True
    search_key = "ytsearch"
