"""TikTok through yt-dlp, URLs only: a video, or a user's videos.

TikTok extraction fails now and then ("Unable to extract universal data for rehydration");
installing ``curl_cffi`` (``yt-dlp[curl-cffi]``) lets yt-dlp impersonate a browser.
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
