"""The base class of the video sources: listing with yt-dlp's flat extraction, one Found per video.

:class:`YtDlpSource` is the shared base of the video sources (youtube, dailymotion, vimeo, tiktok,
twitch); it is not registered itself. ``iterate`` lists what a URL (or a search) holds and yields
one :class:`Found` per video, each carrying its own downloader (:func:`download.download`), which
the engine calls when it wants the file.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tuiapp.errors import SourceError, UnsupportedURLError
from tuiapp.sources.base import Found, Source, SourceKind, item_id
from tuiapp.sources.ytdlp import download as runner
from tuiapp.sources.ytdlp.errors import error_for
from tuiapp.sources.ytdlp.options import DECLARED, VideoOptions, as_int
from tuiapp.sources.ytdlp.ydl import YtDlpLog, params, ydl_class

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from tuiapp.sources.base import DownloadedFile, SourceContext, SourceQuery, TransferContext

__all__ = ["YtDlpSource", "listing_limit"]


class YtDlpSource(Source):
    """A video site yt-dlp can list and download. Subclasses give the site's class attributes.

    Not registered itself: it defines no ``name``.
    """

    kind: ClassVar[SourceKind] = "video"
    takes_query = False
    search_key: ClassVar[str | None] = None
    """yt-dlp's search prefix (``ytsearch``) when the site is searched through yt-dlp."""
    max_listing: ClassVar[int] = 200
    """Most entries listed from one playlist or channel."""
    login_notice: ClassVar[str | None] = None
    """Said to the user when the site needs a login and no cookies are set."""
    options = DECLARED

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = VideoOptions.read(self.name, self.read_options(query), ctx.settings)
        site = query.text if query.is_url else ctx.base_url
        opts = dataclasses.replace(opts, proxy=ctx.http.proxy_for(site))
        if self.login_notice and opts.cookies is None and not opts.cookies_from_browser:
            ctx.notice(self.login_notice)
        if query.is_url:
            target = self.listing_url(query.text)
        elif self.search_key is not None:
            target = f"{self.search_key}{listing_limit(query.count)}:{query.text}"
        else:
            async for found in self.search(query, opts, ctx):
                yield found
            return
        async for found in self.list_url(target, query.count, opts, ctx):
            yield found

    def listing_url(self, url: str) -> str:
        """What to list for a URL the user typed (a channel URL may become its videos page)."""
        return url

    async def search(
        self, query: SourceQuery, opts: VideoOptions, ctx: SourceContext
    ) -> AsyncIterator[Found]:
        """Search the site without yt-dlp (subclasses with a search API override this)."""
        raise UnsupportedURLError(f"{self.name} takes only URLs, not search words")
        yield  # pragma: no cover - makes this an async generator

    async def list_url(
        self, target: str, count: int, opts: VideoOptions, ctx: SourceContext
    ) -> AsyncIterator[Found]:
        """Yield a Found per video ``target`` holds (one video, a playlist, a channel, a search)."""
        limit = min(listing_limit(count), self.max_listing)
        info = await asyncio.to_thread(self._list_blocking, target, limit, opts, ctx)
        if info is None:
            return
        if info.get("_type") in ("playlist", "multi_video"):
            for entry in info.get("entries") or ():
                if isinstance(entry, dict):
                    found = self._entry_found(entry, opts)
                    if found is not None:
                        yield found
            return
        if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
            raise SourceError(f"{target} is a live stream; tuiapp downloads only finished videos")
        url = str(info.get("webpage_url") or target)
        yield self.found(url, info, opts)

    def found(self, url: str, info: Mapping[str, Any], opts: VideoOptions) -> Found:
        """A Found for one video whose page is ``url``; ``info`` is whatever is known of it yet."""
        thumbnail = info.get("thumbnail")
        if not thumbnail:
            thumbs = [
                t for t in info.get("thumbnails") or () if isinstance(t, dict) and t.get("url")
            ]
            thumbnail = thumbs[-1]["url"] if thumbs else None
        page = info.get("webpage_url") or url
        return Found(
            url=url,
            expect="video",
            page_url=str(page),
            title=info.get("title") or None,
            author=info.get("uploader") or info.get("channel") or None,
            author_url=info.get("uploader_url") or info.get("channel_url") or None,
            width=as_int(info.get("width")),
            height=as_int(info.get("height")),
            thumbnail_url=str(thumbnail) if thumbnail else None,
            item_id=item_id(info.get("id")),
            metadata={
                k: info[k]
                for k in ("id", "duration", "extractor", "ie_key")
                if info.get(k) is not None
            },
            download=functools.partial(self.download, url, opts),
        )

    def _entry_found(self, entry: Mapping[str, Any], opts: VideoOptions) -> Found | None:
        if entry.get("live_status") in ("is_live", "is_upcoming"):
            return None  # a channel's live stream or a scheduled one: nothing to download yet
        url = entry.get("url") or entry.get("webpage_url")
        return self.found(str(url), entry, opts) if url else None

    def _list_blocking(
        self, target: str, limit: int, opts: VideoOptions, ctx: SourceContext
    ) -> dict[str, Any] | None:
        from yt_dlp.utils import YoutubeDLError

        ctx.scratch_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="list-", dir=ctx.scratch_dir))
        try:
            options = params(opts, YtDlpLog(ctx.log), workdir)
            options.update(
                {
                    "extract_flat": "in_playlist",
                    "noplaylist": False,
                    "playlist_items": f"1:{limit}",
                    "lazy_playlist": False,
                    "skip_download": True,
                    # The format is chosen when downloading; listing must not fail over it.
                    "format": "b/bv*/ba/w",
                }
            )
            with ydl_class()(options) as ydl:
                try:
                    info = ydl.extract_info(target, download=False)
                except YoutubeDLError as exc:
                    raise error_for(exc, self.name) from None
                return None if info is None else dict(ydl.sanitize_info(info))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def download(self, url: str, opts: VideoOptions, tctx: TransferContext) -> DownloadedFile:
        """Download one video into ``tctx.scratch_dir`` (the ``Found.download`` of this source).

        Returns as soon as ``tctx.cancelled()`` turns true, without waiting for the thread.

        Raises:
            SourceError: what yt-dlp ran into, mapped (see :func:`error_for`).
        """
        return await runner.download(url, opts, tctx, source=self.name)


def listing_limit(count: int) -> int:
    """How many entries to list when ``count`` files are wanted: some spare for failures."""
    return count + min(count, 10)
