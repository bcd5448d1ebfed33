"""Twitch through yt-dlp, URLs only: a VOD, a clip, a collection, or a channel's past broadcasts.

A bare channel URL lists the channel's videos: a live stream never ends, so it is not recorded.
"""

from __future__ import annotations

import re

from tuiapp.sources.ytdlp import YtDlpSource

_CHANNEL = re.compile(
    r"^https?://(?:(?:www|m|go)\.)?twitch\.tv/(?P<channel>[a-z0-9_]{2,25})/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_NOT_CHANNELS = frozenset(
    {"videos", "directory", "downloads", "jobs", "p", "settings", "subscriptions", "search",
     "turbo", "prime", "inventory", "wallet", "drops", "friends", "messages", "collections"}
)  # fmt: skip


class TwitchSource(YtDlpSource):
    name = "twitch"
    description = "Twitch VODs, clips and channels' past broadcasts by URL (yt-dlp)"
    base_url = "https://www.twitch.tv"
    example = "https://www.twitch.tv/videos/6528877"
    pattern = re.compile(r"^https?://(?:(?:www|m|go|clips)\.)?twitch\.tv/", re.IGNORECASE)

    def listing_url(self, url: str) -> str:
        match = _CHANNEL.match(url)
        if match and match["channel"].lower() not in _NOT_CHANNELS:
            return f"https://www.twitch.tv/{match['channel']}/videos"
        return url
