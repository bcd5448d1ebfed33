"""Routes about the service itself: health, this API's document, the caller, the sources."""

from __future__ import annotations

import asyncio

from aiohttp import web

from tuiapp import __version__
from tuiapp.server.common import ENGINE_KEY, OPENAPI_KEY, caller
from tuiapp.server.routing import Reply, RouteTable
from tuiapp.server.shapes import Health, Me, SourceList

__all__ = ["table"]

table = RouteTable()


@table.route(
    "GET",
    "/api/health",
    name="health",
    summary="Is the API up",
    public=True,
    replies={200: Reply("Up.", Health)},
)
async def health(request: web.Request) -> web.Response:
    live = request.app[ENGINE_KEY].events_live
    tasks = len(asyncio.all_tasks())
    return web.json_response(
        {"status": "ok", "version": __version__, "tasks": tasks, "cross_worker_events": live}
    )


@table.route(
    "GET",
    "/api/openapi.json",
    name="openapi",
    summary="This document",
    public=True,
    replies={200: Reply("The OpenAPI document.", dict)},
)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY]())


@table.route(
    "GET",
    "/api/me",
    name="me",
    summary="Who the caller is",
    replies={200: Reply("The user, or guest.", Me)},
)
async def me(request: web.Request) -> web.Response:
    found = caller(request)
    return web.json_response(
        {"guest": found is None, "user": None if found is None else found.to_dict()}
    )


@table.route(
    "GET",
    "/api/sources",
    name="listSources",
    summary="The sources, and whether each is ready (key, cookies, programs; no site is tried)",
    replies={200: Reply("The sources.", SourceList)},
)
async def sources(request: web.Request) -> web.Response:
    # The first look for the video tools imports yt-dlp: kept off the event loop.
    infos = await asyncio.to_thread(request.app[ENGINE_KEY].sources)
    return web.json_response({"sources": [s.to_dict() for s in infos]})
