"""Unsplash photo search through the official API (needs ``UNSPLASH_ACCESS_KEY``).

``GET /search/photos`` with ``Authorization: Client-ID <key>`` and ``Accept-Version: v1``, page by
page until the engine has enough or the pages run out. Unsplash's guidelines ask for a call to
each photo's ``links.download_location`` when the photo is downloaded; the source makes it as it
hands the photo over (on the configured host; set ``TUIAPP_SOURCE_UNSPLASH__TRACK_DOWNLOADS=0``
to turn it off). Remaining quota comes from ``X-Ratelimit-*`` headers and is shown as a notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from tuiapp.errors import RateLimitedError, SourceError
from tuiapp.sources._common import (
    clean_text,
    format_changed,
    https_url,
    invalid_key,
    json_body,
    mapping,
    rate_limit_notice,
    to_int,
)
from tuiapp.sources.base import Found, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from tuiapp.sources.base import HttpResponse

KEY_SETTING = "UNSPLASH_ACCESS_KEY"
MAX_PER_PAGE = 30
SIZES = {"raw": None, "full": None, "regular": 1080, "small": 400}
"""Photo size to download -> its width (None: the original's)."""
FILTERS = ("orientation", "color", "content_filter", "order_by", "collections")
LICENSE = "Unsplash License"


class UnsplashSource(Source):
    name = "unsplash"
    kind: ClassVar[SourceKind] = "image_api"
    description = "Free photos from unsplash.com (API key UNSPLASH_ACCESS_KEY; Unsplash License)"
    base_url = "https://api.unsplash.com"
    example = "mountain lake"
    key_setting = KEY_SETTING

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        headers = {"Authorization": f"Client-ID {self.require_key(ctx)}", "Accept-Version": "v1"}
        size = str(query.options.get("size", "full")).lower()
        if size not in SIZES:
            size = "full"
        per_page = min(MAX_PER_PAGE, max(10, query.count))
        params: dict[str, str | int] = {"query": query.text, "per_page": per_page}
        for option in FILTERS:
            if query.options.get(option):
                params[option] = str(query.options[option])
        track = str(ctx.settings.get("track_downloads", "1")).lower() not in {"0", "false", "no"}
        seen: set[str] = set()
        page = 1
        while not ctx.cancelled():
            resp = await ctx.http.get(
                f"{ctx.base_url}/search/photos",
                params={**params, "page": page},
                headers=headers,
                allow_status=(401, 403),
            )
            _check(resp)
            rate_limit_notice(ctx, self.name, resp)
            data = json_body(ctx, self.name, resp)
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list):
                raise format_changed(ctx, self.name, resp, 'answer without a "results" list')
            items = [(found, photo) for photo in results if (found := _found(photo, size))]
            if results and not items:
                raise format_changed(ctx, self.name, resp, "no result held a photo URL")
            for found, photo in items:
                # Results shift between pages as photos are added; never hand one over twice.
                photo_id = str(photo.get("id") or found.url)
                if photo_id in seen:
                    continue
                seen.add(photo_id)
                if track:
                    await _track_download(ctx, photo, headers)
                yield found
            total_pages = to_int(data.get("total_pages")) or 0
            if not results or page >= total_pages:
                return
            page += 1


def _check(resp: HttpResponse) -> None:
    if resp.status not in (401, 403):
        return
    detail = _errors(resp)
    if resp.status == 403 and "rate limit" in (detail or resp.preview()).lower():
        raise RateLimitedError(f"unsplash: rate limit exceeded ({detail or 'HTTP 403'})")
    raise invalid_key(KEY_SETTING, resp, detail)


def _errors(resp: HttpResponse) -> str | None:
    """The messages of an error answer (``{"errors": ["…"]}``)."""
    try:
        data = resp.json()
    except SourceError:
        return None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join(str(e) for e in errors)
    return None


def _found(photo: Any, size: str) -> Found | None:
    if not isinstance(photo, dict):
        return None
    urls = mapping(photo.get("urls"))
    url = https_url(urls.get(size)) or https_url(urls.get("full")) or https_url(urls.get("raw"))
    if url is None:
        return None
    width, height = to_int(photo.get("width")), to_int(photo.get("height"))
    scaled = SIZES[size]
    if scaled is not None and width and height and width > scaled:
        width, height = scaled, max(1, round(height * scaled / width))
    user = mapping(photo.get("user"))
    user_links = mapping(user.get("links"))
    links = mapping(photo.get("links"))
    metadata: dict[str, Any] = {
        "unsplash_id": photo.get("id"),
        "original_width": to_int(photo.get("width")),
        "original_height": to_int(photo.get("height")),
        "sponsored": photo.get("sponsorship") is not None,
    }
    for key in ("color", "blur_hash", "likes", "created_at"):
        if photo.get(key) is not None:
            metadata[key] = photo[key]
    if description := clean_text(photo.get("description")):
        metadata["description"] = description
    if user.get("username"):
        metadata["username"] = user["username"]
    return Found(
        url=url,
        page_url=https_url(links.get("html")),
        title=clean_text(photo.get("alt_description")) or clean_text(photo.get("description")),
        author=clean_text(user.get("name")) or clean_text(user.get("username")),
        author_url=https_url(user_links.get("html")),
        license=LICENSE,
        width=width,
        height=height,
        thumbnail_url=https_url(urls.get("thumb")),
        metadata=metadata,
    )


async def _track_download(
    ctx: SourceContext, photo: dict[str, Any], headers: Mapping[str, str]
) -> None:
    """Tell Unsplash the photo is being downloaded; a failure here never stops the search."""
    links = mapping(photo.get("links"))
    location = https_url(links.get("download_location"))
    if location is None:
        return
    # Always on the configured host, so a mirror or a test server sees the call too.
    parts = urlsplit(location)
    base = urlsplit(ctx.base_url)
    target = urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))
    try:
        await ctx.http.get(target, headers=headers)
    except SourceError as exc:
        ctx.log.warning("unsplash: download tracking call failed: %s", exc)
