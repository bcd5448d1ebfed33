"""Dailymotion: search words go to its public REST API; URLs (and the hits) go to yt-dlp.

The base URL (``TUIAPP_DAILYMOTION_BASE_URL``) is the API's: ``https://api.dailymotion.com``.
``TUIAPP_SOURCE_DAILYMOTION__FAMILY_FILTER=false`` turns the family filter off.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tuiapp.errors import FormatChangedError, SourceError
from tuiapp.sources.ytdlp import VideoOptions, YtDlpSource, listing_limit

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.sources.base import Found, SourceContext, SourceQuery

PAGE_LIMIT = 100
"""The API's largest page."""
FIELDS = "id,title,url,duration,thumbnail_360_url,owner.screenname,owner.url,created_time"


class DailymotionSource(YtDlpSource):
    name = "dailymotion"
    description = "Dailymotion videos: search words (public API) or a video/playlist URL (yt-dlp)"
    base_url = "https://api.dailymotion.com"
    example = "https://www.dailymotion.com/video/x5kesuj"
    pattern = re.compile(
        r"^https?://(?:(?:www|touch|geo)\.)?dailymotion\.com/|^https?://dai\.ly/", re.IGNORECASE
    )
    takes_query = True

    async def search(
        self, query: SourceQuery, opts: VideoOptions, ctx: SourceContext
    ) -> AsyncIterator[Found]:
        family = str(ctx.settings.get("family_filter", "true")).strip().lower()
        limit = min(PAGE_LIMIT, listing_limit(query.count))
        page = 1
        while True:
            resp = await ctx.http.get(
                f"{ctx.base_url}/videos",
                params={
                    "search": query.text,
                    "fields": FIELDS,
                    "limit": limit,
                    "page": page,
                    "sort": "relevance",
                    "family_filter": "false" if family in {"0", "false", "no", "off"} else "true",
                },
                allow_status=(400, 403, 404),
            )
            data = resp.json()
            if not isinstance(data, dict):
                raise FormatChangedError(f"dailymotion answered {resp.preview()!r}, not an object")
            error = data.get("error")
            if error is not None:
                message = error.get("message") if isinstance(error, dict) else error
                raise SourceError(f"dailymotion search failed (HTTP {resp.status}): {message}")
            items = data.get("list")
            if not isinstance(items, list):
                raise FormatChangedError(f"dailymotion answer without a list: {resp.preview()!r}")
            for item in items:
                found = self._hit(item, opts)
                if found is not None:
                    yield found
            if not items or not data.get("has_more"):
                return
            page += 1

    def _hit(self, item: Any, opts: VideoOptions) -> Found | None:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            return None
        return self.found(
            item["url"],
            {
                "id": item.get("id"),
                "title": item.get("title"),
                "duration": item.get("duration"),
                "thumbnail": item.get("thumbnail_360_url"),
                "uploader": item.get("owner.screenname"),
                "uploader_url": item.get("owner.url"),
                "webpage_url": item["url"],
                "extractor": "dailymotion",
            },
            opts,
        )
