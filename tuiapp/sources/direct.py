"""Direct links: any http(s) URL no other source claims, handed to the engine as one file.

This is the registry's fallback, so it comes last in ``MODULES``: a URL reaches it only when no
site's source matched. A URL whose extension names a media kind is handed over as it is: the
engine downloads it, sniffs the bytes and checks them against that kind. A URL that names none
is looked at first (its first bytes, at most a page's worth): an image, video or audio file is
handed over the same way (any media kind, never a page); a page is handed to yt-dlp, which finds
the videos in it (:class:`~tuiapp.sources.ytdlp.generic.PageVideoSource`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import unquote, urlsplit

from tuiapp.errors import FormatChangedError
from tuiapp.sources.base import Found, MediaKind, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

EXTENSION_KINDS: dict[str, MediaKind] = {
    **dict.fromkeys(
        (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff", ".ico"),
        "image",
    ),
    **dict.fromkeys((".mp4", ".m4v", ".webm", ".mkv", ".mov", ".avi", ".ogv"), "video"),
    **dict.fromkeys((".mp3", ".m4a", ".oga", ".opus", ".flac", ".wav", ".aac"), "audio"),
}
"""What a path's extension promises; the engine refuses bytes of another kind."""


class DirectSource(Source):
    name = "direct"
    kind: ClassVar[SourceKind] = "direct_link"
    description = "A direct link to an image, video or audio file that no other source claims"
    # Direct links carry their own host; this is only where the example points.
    base_url = "https://example.org"
    example = "https://example.org/cat.jpg"
    pattern = re.compile(r"^https?://[^\s/?#]+\S*$", re.IGNORECASE)
    takes_query = False

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        url = query.text.strip()
        if not self.matches(url):
            return
        name = unquote(PurePosixPath(urlsplit(url).path).name)
        found = Found(
            url=url,
            expect=expected_kind(url),
            page_url=url,
            title=name or None,
            metadata={"direct": True},
        )
        if found.expect == "any" and await is_page(url, ctx):
            from tuiapp.sources.ytdlp.generic import PageVideoSource

            page = replace(query, text=url, is_url=True)
            async for video in PageVideoSource().iterate(page, ctx):
                yield video
            return
        yield found


_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_PEEK = 64 * 1024


async def is_page(url: str, ctx: SourceContext) -> bool:
    """Whether ``url`` answers with a web page (by its type, else by its first bytes).

    Only the first bytes are asked for; a server that sends more anyway is read up to a page's
    size limit, and an answer larger than that is no page.
    """
    try:
        answer = await ctx.http.get(url, headers={"Range": f"bytes=0-{_PEEK - 1}"})
    except FormatChangedError:  # larger than any page: a media file, or nothing we keep
        return False
    kind = (answer.header("content-type") or "").split(";")[0].strip().lower()
    if kind in _PAGE_TYPES:
        return True
    head = answer.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def expected_kind(url: str) -> MediaKind:
    """The kind of file ``url``'s extension names, or ``"any"`` when it names none we know."""
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    return EXTENSION_KINDS.get(suffix, "any")
