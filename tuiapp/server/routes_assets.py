"""Routes over stored files: list, describe, delete, their bytes (ranges, ETag), thumbnails.

Stored files come from anywhere: every answer with their bytes carries ``Content-Security-Policy:
sandbox`` (a document opened from it runs no script and has no origin), and a type a browser
would render as a document of its own (HTML, SVG, XML ...) is sent as a download only.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Final, Literal

from aiohttp import hdrs, web
from msgspec import Meta

from tuiapp.jobs import AssetInfo
from tuiapp.server.common import ENGINE_KEY, PAGING, error, id_param, owner, paging, path_id
from tuiapp.server.filters import FILTER_PARAMS, selection
from tuiapp.server.ranges import RangeNotSatisfiable, byte_range, etag_matches
from tuiapp.server.routing import Param, Reply, RouteTable
from tuiapp.server.shapes import AssetList, asset_view

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["table"]

log = logging.getLogger("tuiapp.server")

table = RouteTable()

_ASSET_ID = id_param("asset")
FILE_CSP: Final = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'"
"""What a browser may do with a stored file opened on its own: show it, nothing more."""
_SHOWN: Final = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp")
"""Pictures shown inline; every other type but video and audio is sent as a download."""


def _download_only(mime: str) -> bool:
    return not (mime in _SHOWN or mime.startswith(("video/", "audio/")))


@table.route(
    "GET",
    "/api/assets",
    name="listAssets",
    summary="The caller's stored files: oldest first, or a search's best matches first",
    params=(*FILTER_PARAMS, *PAGING),
    replies={200: Reply("A page of files.", AssetList)},
    errors=(400, 404),
)
async def list_assets(request: web.Request) -> web.Response:
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    limit, offset = paging(request)
    chosen = selection(request)
    infos = await engine.find(caller, chosen, limit=limit, offset=offset, oldest_first=True)
    return web.json_response(
        {"assets": [asset_view(a) for a in infos], "limit": limit, "offset": offset}
    )


@table.route(
    "GET",
    "/api/assets/{id}",
    name="getAsset",
    summary="A stored file's details",
    params=(_ASSET_ID,),
    replies={200: Reply("The file.", AssetInfo)},
    errors=(400, 404),
)
async def get_asset(request: web.Request) -> web.Response:
    asset_id = path_id(request, "asset")
    caller = await owner(request)
    return web.json_response(asset_view(await request.app[ENGINE_KEY].get_asset(asset_id, caller)))


@table.route(
    "DELETE",
    "/api/assets/{id}",
    name="deleteAsset",
    summary="Delete a stored file",
    params=(_ASSET_ID,),
    replies={204: Reply("Deleted.")},
    errors=(400, 404),
)
async def delete_asset(request: web.Request) -> web.Response:
    asset_id = path_id(request, "asset")
    caller = await owner(request)
    await request.app[ENGINE_KEY].delete_asset(asset_id, caller)
    return web.Response(status=204)


_CONTENT_PARAMS: Final = (
    _ASSET_ID,
    Param("Range", "header", str, "One byte range (`bytes=0-99`, `bytes=100-`, `bytes=-100`)."),
    Param("If-None-Match", "header", str),
    Param("If-Range", "header", str),
)
_CONTENT_HEADERS: Final = {
    "ETag": str,
    "Accept-Ranges": Literal["bytes"],
    "Content-Length": Annotated[int, Meta(ge=0)],
}
_CONTENT_REPLIES: Final = {
    200: Reply(
        "The whole file, with its stored media type.", media="*/*", headers=_CONTENT_HEADERS
    ),
    206: Reply(
        "The requested range (`Content-Range` says which).",
        media="*/*",
        headers={**_CONTENT_HEADERS, "Content-Range": str},
    ),
    304: Reply("`If-None-Match` matched: the client's copy is current."),
}


@table.route(
    "HEAD",
    "/api/assets/{id}/content",
    name="headAssetContent",
    summary="A stored file's headers",
    params=_CONTENT_PARAMS,
    replies={
        status: Reply(reply.description, headers=reply.headers)
        for status, reply in _CONTENT_REPLIES.items()
    },
    errors=(400, 404, 416),
)
@table.route(
    "GET",
    "/api/assets/{id}/content",
    name="getAssetContent",
    summary="A stored file's bytes (ranges, ETag)",
    params=_CONTENT_PARAMS,
    replies=_CONTENT_REPLIES,
    errors=(400, 404, 416),
)
async def asset_content(request: web.Request) -> web.StreamResponse:
    asset_id = path_id(request, "asset")
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    asset = await engine.get_asset(asset_id, caller)
    etag = f'"{asset.sha256}"'
    headers: dict[str, str] = {
        hdrs.ETAG: etag,
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.CACHE_CONTROL: "private, no-cache",
        # Stored files come from anywhere: never let a browser run them as part of the API.
        hdrs.CONTENT_SECURITY_POLICY: FILE_CSP,
        hdrs.X_CONTENT_TYPE_OPTIONS: "nosniff",
    }
    if _download_only(asset.mime):
        headers[hdrs.CONTENT_DISPOSITION] = "attachment"
    if (match := request.headers.get(hdrs.IF_NONE_MATCH)) is not None and etag_matches(match, etag):
        return web.Response(status=304, headers=headers)
    wanted = request.headers.get(hdrs.RANGE)
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's copy is stale: send the whole new file
    try:
        span = byte_range(wanted, asset.size)
    except RangeNotSatisfiable:
        return error(
            416,
            "range_not_satisfiable",
            f"the file has {asset.size} bytes; {wanted!r:.80} lies past its end",
            {**headers, hdrs.CONTENT_RANGE: f"bytes */{asset.size}"},
        )
    start, stop = span or (0, asset.size)
    resp = web.StreamResponse(status=200 if span is None else 206, headers=headers)
    resp.content_type = asset.mime
    resp.content_length = stop - start
    if span is not None:
        resp.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{asset.size}"
    if request.method == hdrs.METH_HEAD:
        await resp.prepare(request)
        return resp
    _, chunks = await engine.read_asset(asset_id, caller, start, stop)
    await resp.prepare(request)
    await _send_chunks(request, resp, chunks)
    return resp


async def _send_chunks(
    request: web.Request, resp: web.StreamResponse, chunks: AsyncIterator[bytes]
) -> None:
    try:
        async for piece in chunks:
            await resp.write(piece)
        await resp.write_eof()
    except ConnectionResetError:
        pass  # the client stopped reading
    except Exception:
        # Headers are gone: all we can do is cut the connection so the client sees a short body.
        log.exception("sending asset bytes for %s failed", request.path)
        if request.transport is not None:
            request.transport.abort()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


_PLACEHOLDERS: Final = {"video": "video.svg", "audio": "audio.svg"}


def _placeholder(kind: str) -> bytes:
    """The picture standing for a file that has no thumbnail (a video, a document)."""
    name = _PLACEHOLDERS.get(kind, "file.svg")
    return (resources.files("tuiapp.server") / "static" / name).read_bytes()


@table.route(
    "GET",
    "/api/assets/{id}/thumbnail",
    name="getAssetThumbnail",
    summary="A stored file's thumbnail (longest side 320 px)",
    description="A picture's thumbnail is WebP, made once and kept. A file that is no picture"
    " (a video, say) gets a placeholder drawing (SVG) of its kind.",
    params=(_ASSET_ID, Param("If-None-Match", "header", str)),
    replies={
        200: Reply(
            "The thumbnail (`image/webp`), or a placeholder (`image/svg+xml`).",
            media="*/*",
            headers={"ETag": str},
        ),
        304: Reply("`If-None-Match` matched: the client's copy is current."),
    },
    errors=(400, 404),
)
async def asset_thumbnail(request: web.Request) -> web.Response:
    asset_id = path_id(request, "asset")
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    asset = await engine.get_asset(asset_id, caller)
    etag = f'"t{asset.sha256[:40]}"'
    headers = {
        hdrs.ETAG: etag,
        hdrs.CACHE_CONTROL: "private, no-cache",
        hdrs.CONTENT_SECURITY_POLICY: FILE_CSP,
    }
    if (match := request.headers.get(hdrs.IF_NONE_MATCH)) is not None and etag_matches(match, etag):
        return web.Response(status=304, headers=headers)
    made = await engine.thumbnail(asset_id, caller)
    if made is None:
        body, mime = _placeholder(asset.kind), "image/svg+xml"
    else:
        body, mime = made
    return web.Response(body=body, content_type=mime, headers=headers)
