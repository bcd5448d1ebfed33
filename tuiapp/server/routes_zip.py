"""Routes that stream a selection of stored files as one zip: a job's, or a search's.

The engine writes the zip (:meth:`Engine.zip`); these handlers check the request, name the
download and pass the pieces on as they come. A download cut short closes the engine's stream:
nothing was written anywhere, so nothing is left behind.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from aiohttp import hdrs, web

from tuiapp.errors import NotFoundError
from tuiapp.jobs import ExportOptions
from tuiapp.server.common import ENGINE_KEY, id_param, owner, path_id
from tuiapp.server.filters import FILTER_PARAMS, flag, selection
from tuiapp.server.routing import Param, Reply, RouteTable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["table"]

log = logging.getLogger("tuiapp.server")

table = RouteTable()

_EXPORT_PARAMS: Final = (
    Param(
        "name",
        "query",
        str,
        "A name template, e.g. `{source}/{author}/{title}-{id}.{ext}` (fields: `source` `query`"
        " `title` `author` `id` `width` `height` `ext` `date` `job` `sha8`); the default name"
        " when left out.",
    ),
    Param("sidecar", "query", bool, "Add `NAME.json` with each file's metadata.", False),
)
_ZIP_REPLY: Final = Reply(
    "A zip of the files (stored, not deflated), with `CREDITS.md` and `credits.json`; sent as"
    " it is written, so its length is not known ahead.",
    media="application/zip",
    headers={"Content-Disposition": str},
)


def _options(request: web.Request) -> ExportOptions:
    template = request.query.get("name")
    return ExportOptions(template=template or None, sidecar=flag(request, "sidecar"))


def _disposition(stem: str) -> str:
    """``attachment`` with an ASCII ``filename`` any browser takes and the full name in
    ``filename*`` (RFC 6266)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "tuiapp"
    return (
        f'attachment; filename="{ascii_name}.zip";'
        f" filename*=UTF-8''{quote(stem[:120] + '.zip', safe='')}"
    )


async def _send(
    request: web.Request, stem: str, pieces: AsyncIterator[bytes]
) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: "application/zip",
            hdrs.CONTENT_DISPOSITION: _disposition(stem),
            hdrs.CACHE_CONTROL: "no-store",
            hdrs.X_CONTENT_TYPE_OPTIONS: "nosniff",
        }
    )
    try:
        await resp.prepare(request)
        async for piece in pieces:
            if piece:
                await resp.write(piece)
        await resp.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the client stopped reading: the stream is closed below, nothing stays
    except Exception:
        # Headers are gone: cut the connection so the client sees a broken download, not a
        # short zip it might take for whole.
        log.exception("sending the zip for %s failed", request.path)
        if request.transport is not None:
            request.transport.abort()
    finally:
        aclose = getattr(pieces, "aclose", None)
        if aclose is not None:
            await aclose()
    return resp


@table.route(
    "GET",
    "/api/jobs/{id}/files.zip",
    name="getJobZip",
    summary="A job's stored files as one zip",
    params=(id_param("job"), *_EXPORT_PARAMS),
    replies={200: _ZIP_REPLY},
    errors=(400, 404),
)
async def job_zip(request: web.Request) -> web.StreamResponse:
    job_id = path_id(request, "job")
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    job = await engine.get_job(job_id, caller)
    pieces = await engine.zip(selection(request, job_id=job_id), caller, _options(request))
    slug = re.sub(r"\W+", "-", job.query).strip("-")[:60]
    return await _send(request, f"tuiapp-job-{job_id}" + (f"-{slug}" if slug else ""), pieces)


@table.route(
    "GET",
    "/api/assets.zip",
    name="getAssetsZip",
    summary="The stored files a search finds, as one zip",
    params=(*FILTER_PARAMS, *_EXPORT_PARAMS),
    replies={200: _ZIP_REPLY},
    errors=(400, 404),
)
async def assets_zip(request: web.Request) -> web.StreamResponse:
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    chosen = selection(request)
    if not await engine.find(caller, chosen, limit=1):
        raise NotFoundError("no stored file matches this search; nothing to zip")
    pieces = await engine.zip(chosen, caller, _options(request))
    slug = re.sub(r"\W+", "-", chosen.text or "").strip("-")[:60]
    return await _send(request, "tuiapp-files" + (f"-{slug}" if slug else ""), pieces)
