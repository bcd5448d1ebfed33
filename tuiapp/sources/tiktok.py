"""TikTok through yt-dlp, URLs only: a video, or a user's videos.

TikTok's pages answer only to a browser's TLS fingerprint: yt-dlp impersonates one with
``curl_cffi`` (installed with tuiapp, as ``yt-dlp[curl-cffi]``); without it extraction fails
("Unable to extract universal data for rehydration").
"""

from __future__ import annotations

import re

from tuiapp.sources.ytdlp import YtDlpSource


class TiktokSource(YtDlpSource):
    name = "tiktok"
    description = "TikTok videos by URL: a video or a user's page (yt-dlp)"
    base_url = "https://www.tiktok.com"
    example = "https://www.tiktok.com/@scout2015/video/6718335390845095173"
    pattern = re.compile(r"^https?://(?:(?:www|m|vm|vt)\.)?tiktok\.com/", re.IGNORECASE)
