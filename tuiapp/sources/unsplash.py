"""Unsplash photo search through the official API (needs ``UNSPLASH_ACCESS_KEY``).

``GET /search/photos`` with ``Authorization: Client-ID <key>`` and ``Accept-Version: v1``, page by
page until the engine has enough or the pages run out. Unsplash's API guidelines ask for:

- credit links back to Unsplash tagged ``utm_source=<app name>&utm_medium=referral``: the
  photographer's and the photo's page URLs kept with each photo carry them (the app name is
  ``TUIAPP_SOURCE_UNSPLASH__APP_NAME``, ``tuiapp`` by default);
- a call to each photo's ``links.download_location`` when the photo is downloaded: made through
  ``Found.on_stored``, once the engine has stored the file, never for a photo that failed (on the
  configured host; ``TUIAPP_SOURCE_UNSPLASH__TRACK_DOWNLOADS=0`` turns it off).

Remaining quota comes from ``X-Ratelimit-*`` headers (an hourly window, no reset time sent); it is
shown as a notice and remembered, so a spent key sends nothing until the hour has passed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tuiapp.errors import RateLimitedError, SourceError
from tuiapp.sources._common import (
    QUOTAS,
    clean_text,
    format_changed,
    https_url,
    invalid_key,
    json_list,
    keyed_get,
    mapping,
    rate_limit_notice,
    to_int,
)
from tuiapp.sources.base import (
    Found,
    Option,
    Source,
    SourceContext,
    SourceKind,
    SourceQuery,
    item_id,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from tuiapp.sources.base import HttpResponse

KEY_SETTING = "UNSPLASH_ACCESS_KEY"
MAX_PER_PAGE = 30
SIZES = {"raw": None, "full": None, "regular": 1080, "small": 400}
"""Photo size to download -> its width (None: the original's)."""
FILTERS = ("orientation", "color", "content_filter", "order_by", "collections")
COLORS = (
    "black_and_white", "black", "white", "yellow", "orange", "red", "purple", "magenta", "green",
    "teal", "blue",
)  # fmt: skip
LICENSE = "Unsplash License"
DEFAULT_APP_NAME = "tuiapp"


class UnsplashSource(Source):
    name = "unsplash"
    kind: ClassVar[SourceKind] = "image_api"
    description = "Free photos from unsplash.com (API key UNSPLASH_ACCESS_KEY; Unsplash License)"
    base_url = "https://api.unsplash.com"
    example = "mountain lake"
    key_setting = KEY_SETTING
    options = (
        Option("size", "choice", "which size of each photo (default full)", choices=tuple(SIZES)),
        Option(
            "orientation",
            "choice",
            "only photos of this orientation",
            choices=("landscape", "portrait", "squarish"),
        ),
        Option("color", "choice", "only photos of this colour", choices=COLORS),
        Option(
            "content_filter",
            "choice",
            "how strict the filter is (default low)",
            choices=("low", "high"),
        ),
        Option(
            "order_by",
            "choice",
            "order of results (default relevant)",
            choices=("relevant", "latest"),
        ),
        Option("collections", "str", "only these collections: ids, comma-separated"),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        key = self.require_key(ctx)
        headers = {"Authorization": f"Client-ID {key}", "Accept-Version": "v1"}
        opts = self.read_options(query)
        size: str = opts.get("size", "full")
        per_page = min(MAX_PER_PAGE, max(10, query.count))
        params: dict[str, str | int] = {"query": query.text, "per_page": per_page}
        params.update({k: v for k, v in opts.items() if k in FILTERS})
        track = str(ctx.settings.get("track_downloads", "1")).lower() not in {"0", "false", "no"}
        app_name = str(ctx.settings.get("app_name") or "").strip() or DEFAULT_APP_NAME
        seen: set[str] = set()
        page = 1
        while not ctx.cancelled():
            resp = await keyed_get(
                ctx,
                self.name,
                key,
                f"{ctx.base_url}/search/photos",
                reset="hourly",
                params={**params, "page": page},
                headers=headers,
                allow_status=(401, 403),
            )
            _check(resp, key)
            rate_limit_notice(ctx, self.name, resp)
            data, results = json_list(ctx, self.name, resp, "results")
            items = [
                (found, photo) for photo in results if (found := _found(photo, size, app_name))
            ]
            if results and not items:
                raise format_changed(ctx, self.name, resp, "no result held a photo URL")
            for found, photo in items:
                # Results shift between pages as photos are added; never hand one over twice.
                photo_id = str(photo.get("id") or found.url)
                if photo_id in seen:
                    continue
                seen.add(photo_id)
                if track:
                    found = replace(found, on_stored=_tracker(ctx, photo, headers))
                yield found
            total_pages = to_int(data.get("total_pages")) or 0
            if not results or page >= total_pages:
                return
            page += 1


def _check(resp: HttpResponse, key: str) -> None:
    if resp.status not in (401, 403):
        return
    detail = _errors(resp)
    if resp.status == 403 and "rate limit" in (detail or resp.preview()).lower():
        # Unsplash refuses a spent key with 403 "Rate Limit Exceeded" rather than 429.
        why = f"HTTP 403 {detail or 'rate limit exceeded'}"
        raise QUOTAS.spent(UnsplashSource.name, key, why) or RateLimitedError(
            f"unsplash: rate limit exceeded ({detail or 'HTTP 403'})"
        )
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


def _found(photo: Any, size: str, app_name: str) -> Found | None:
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
        page_url=_referral(https_url(links.get("html")), app_name),
        title=clean_text(photo.get("alt_description")) or clean_text(photo.get("description")),
        author=clean_text(user.get("name")) or clean_text(user.get("username")),
        author_url=_referral(https_url(user_links.get("html")), app_name),
        license=LICENSE,
        width=width,
        height=height,
        thumbnail_url=https_url(urls.get("thumb")),
        item_id=item_id(photo.get("id")),
        metadata=metadata,
    )


def _referral(url: str | None, app_name: str) -> str | None:
    """``url`` tagged as a referral from this app, as Unsplash's guidelines ask of credit links."""
    if url is None:
        return None
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in {"utm_source", "utm_medium"}
    ]
    query += [("utm_source", app_name), ("utm_medium", "referral")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _tracker(
    ctx: SourceContext, photo: dict[str, Any], headers: Mapping[str, str]
) -> Callable[[], Awaitable[None]] | None:
    """The call telling Unsplash the photo was downloaded, for the engine to make once stored."""
    location = https_url(mapping(photo.get("links")).get("download_location"))
    if location is None:
        return None
    # Always on the configured host, so a mirror or a test server sees the call too.
    parts = urlsplit(location)
    base = urlsplit(ctx.base_url)
    target = urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))
    headers = dict(headers)

    async def track() -> None:
        try:
            await ctx.http.get(target, headers=headers)
        except SourceError as exc:
            ctx.log.warning("unsplash: download tracking call failed: %s", exc)

    return track
