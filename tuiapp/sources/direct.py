"""Direct links: any http(s) URL no other source claims, handed to the engine as one file.

This is the registry's fallback, so it comes last in ``MODULES``: a URL reaches it only when no
site's source matched. It never fetches anything itself; the engine downloads the URL, sniffs the
bytes and checks them against the kind the URL's extension promises (any kind when the path has
no known extension: then any image, video or audio file, never a page).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import unquote, urlsplit

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
        yield Found(
            url=url,
            expect=expected_kind(url),
            page_url=url,
            title=name or None,
            metadata={"direct": True},
        )


def expected_kind(url: str) -> MediaKind:
    """The kind of file ``url``'s extension names, or ``"any"`` when it names none we know."""
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    return EXTENSION_KINDS.get(suffix, "any")
