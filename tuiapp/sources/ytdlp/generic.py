"""Videos on a web page no site's source claims, found by yt-dlp (its generic extractor).

Not registered (no module in the registry holds it): the ``direct`` source hands it a page URL
whose answer is neither an image, a video nor an audio file, as gallery-dl and yt-dlp do with
the links they have no site for. Everything after that is :class:`YtDlpSource`'s.
"""

from __future__ import annotations

import re

from tuiapp.sources.ytdlp.source import YtDlpSource

__all__ = ["PageVideoSource"]


class PageVideoSource(YtDlpSource):
    # The direct source's name: its settings, its messages and its advice are direct's.
    name = "direct"
    description = "Videos embedded in a page no other source claims (yt-dlp)"
    base_url = "https://example.org"
    example = "https://example.org/watch.html"
    pattern = re.compile(r"^https?://", re.IGNORECASE)
