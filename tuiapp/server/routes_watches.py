"""Routes over watches: add, list, get, change (pause, resume), delete, run now."""

from __future__ import annotations

from aiohttp import hdrs, web

from tuiapp.api_types import WatchChange, WatchRequest
from tuiapp.jobs import JobInfo
from tuiapp.server.common import ENGINE_KEY, id_param, owner, path_id, read_body
from tuiapp.server.routing import Reply, RouteTable
from tuiapp.server.shapes import WatchList, job_view, watch_view
from tuiapp.watches import WatchInfo

__all__ = ["table"]

table = RouteTable()

_WATCH_ID = id_param("watch")


@table.route(
    "POST",
    "/api/watches",
    name="addWatch",
    summary="Watch a topic: a new-only job run on a schedule (the first run is due at once)",
    body=WatchRequest,
    replies={201: Reply("The watch; `Location` is its URL.", WatchInfo, headers={"Location": str})},
    errors=(400,),
)
async def add_watch(request: web.Request) -> web.Response:
    caller = await owner(request)
    asked = await read_body(request, WatchRequest)
    info = await request.app[ENGINE_KEY].watches.add(
        caller,
        query=asked.query,
        sources=asked.sources,
        count=asked.count,
        options=dict(asked.options),
        every=asked.every,
        webhook=asked.webhook,
    )
    body = watch_view(info)
    return web.json_response(body, status=201, headers={hdrs.LOCATION: body["href"]})


@table.route(
    "GET",
    "/api/watches",
    name="listWatches",
    summary="The caller's watches, oldest first",
    replies={200: Reply("Every watch of the caller.", WatchList)},
)
async def list_watches(request: web.Request) -> web.Response:
    caller = await owner(request)
    infos = await request.app[ENGINE_KEY].watches.list_watches(caller)
    return web.json_response({"watches": [watch_view(i) for i in infos]})


@table.route(
    "GET",
    "/api/watches/{id}",
    name="getWatch",
    summary="A watch: its schedule, its last run and what its runs found",
    params=(_WATCH_ID,),
    replies={200: Reply("The watch.", WatchInfo)},
    errors=(400, 404),
)
async def get_watch(request: web.Request) -> web.Response:
    watch_id = path_id(request, "watch")
    caller = await owner(request)
    return web.json_response(
        watch_view(await request.app[ENGINE_KEY].watches.get(watch_id, caller))
    )


@table.route(
    "PATCH",
    "/api/watches/{id}",
    name="changeWatch",
    summary="Change a watch, pause or resume it",
    params=(_WATCH_ID,),
    body=WatchChange,
    replies={200: Reply("The watch as changed.", WatchInfo)},
    errors=(400, 404),
)
async def change_watch(request: web.Request) -> web.Response:
    watch_id = path_id(request, "watch")
    caller = await owner(request)
    changes = (await read_body(request, WatchChange)).changes()
    info = await request.app[ENGINE_KEY].watches.update(watch_id, caller, **changes)
    return web.json_response(watch_view(info))


@table.route(
    "DELETE",
    "/api/watches/{id}",
    name="deleteWatch",
    summary="Delete a watch (the jobs of its runs stay)",
    params=(_WATCH_ID,),
    replies={204: Reply("Deleted.")},
    errors=(400, 404),
)
async def delete_watch(request: web.Request) -> web.Response:
    watch_id = path_id(request, "watch")
    caller = await owner(request)
    await request.app[ENGINE_KEY].watches.delete(watch_id, caller)
    return web.Response(status=204)


@table.route(
    "POST",
    "/api/watches/{id}/run",
    name="runWatch",
    summary="Run a watch now (paused or not); its schedule goes on from now",
    params=(_WATCH_ID,),
    replies={
        202: Reply(
            "The run's job, queued; `Location` is its URL.", JobInfo, headers={"Location": str}
        )
    },
    errors=(400, 404),
)
async def run_watch(request: web.Request) -> web.Response:
    watch_id = path_id(request, "watch")
    caller = await owner(request)
    job = await request.app[ENGINE_KEY].watches.run(watch_id, caller)
    body = job_view(job)
    return web.json_response(body, status=202, headers={hdrs.LOCATION: body["href"]})
