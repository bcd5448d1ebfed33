"""Vimeo through yt-dlp, URLs only (yt-dlp has no Vimeo search).

Vimeo downloads now need a login: export the cookies of a logged-in browser to a cookies.txt file
and set ``TUIAPP_SOURCE_VIMEO__COOKIES`` to it.
"""

from __future__ import annotations

import re

from tuiapp.sources.ytdlp import YtDlpSource


class VimeoSource(YtDlpSource):
    name = "vimeo"
    description = (
        "Vimeo videos by URL (needs a cookies file: TUIAPP_SOURCE_VIMEO__COOKIES) (yt-dlp)"
    )
    base_url = "https://vimeo.com"
    example = "https://vimeo.com/76979871"
    pattern = re.compile(r"^https?://(?:(?:www|player)\.)?vimeo\.com/", re.IGNORECASE)
    login_notice = "vimeo downloads need a login: set TUIAPP_SOURCE_VIMEO__COOKIES to a cookies.txt"
