"""Live events as Server-Sent Events: every job of the caller, or one job until it ends."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import TYPE_CHECKING, Any, Final

from aiohttp_sse import EventSourceResponse

from tuiapp.events import EVENT_TYPES
from tuiapp.jobs import JobState
from tuiapp.server.common import (
    BACKLOG_KEY,
    ENGINE_KEY,
    MAX_ID,
    MAX_PAGE,
    PING_KEY,
    STREAMS_KEY,
    id_param,
    owner,
    path_id,
    whole,
)
from tuiapp.server.routing import Param, Reply, RouteTable
from tuiapp.server.shapes import job_view

if TYPE_CHECKING:
    from aiohttp import web

    from tuiapp.engine import Subscription

__all__ = ["table"]

table = RouteTable()

_ACTIVE: Final = (JobState.QUEUED, JobState.RUNNING)
_LAST_EVENT_ID: Final = Param(
    "Last-Event-ID", "header", str, "The last event id the client saw, when it reconnects."
)
_STREAM: Final = Reply(
    "Server-Sent Events. The first event is `snapshot` (the current state); then one event"
    " per engine event, named by its `kind` ("
    + ", ".join(f"`{kind}`" for kind in EVENT_TYPES)
    + "), with `data` the event as JSON (see the schema of the same name) and `id` a counter"
    " of this stream. Comments (`: ping`) keep the connection alive. A client too slow to keep"
    " up gets an `overflow` event and the stream ends. Reconnecting with `Last-Event-ID` gives"
    " a fresh snapshot (`reconnected: true`) and ids go on from the last one.",
    media="text/event-stream",
)


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID")
    if raw is None:
        return None
    value = whole(raw.strip())
    return value if value is not None and value <= MAX_ID else 0


async def _stream(
    request: web.Request,
    sub: Subscription,
    snapshot: dict[str, Any],
    *,
    finished: bool = False,
    one_job: bool = False,
) -> web.StreamResponse:
    """Send ``snapshot``, then the subscription's events, as Server-Sent Events.

    Event ids count up per stream. A client that reconnects with ``Last-Event-ID`` missed events
    nobody kept, so it gets a fresh snapshot (``reconnected: true``) and ids go on from its last.
    ``one_job`` streams end after ``job_finished``; ``finished`` ends the stream after the
    snapshot (the job is over already).
    """
    app = request.app
    last = _last_event_id(request)
    ids = itertools.count((last or 0) + 1)
    sse = EventSourceResponse(ping_interval=app[PING_KEY])
    app[STREAMS_KEY].add(sub)
    try:
        await sse.prepare(request)
        async with sse:
            # The ping task ends when the client goes away: stop waiting for events then.
            watcher = asyncio.create_task(sse.wait())
            watcher.add_done_callback(lambda _: sub.close())
            try:
                snapshot["reconnected"] = last is not None
                await sse.send(json.dumps(snapshot), id=str(next(ids)), event="snapshot")
                if finished:
                    return sse
                async for event in sub:
                    await sse.send(json.dumps(event.to_dict()), id=str(next(ids)), event=event.kind)
                    if one_job and event.kind in ("job_finished", "job_deleted"):
                        return sse
                if sub.overflowed:
                    message = sub.cut_reason or "reconnect for a fresh snapshot"
                    await sse.send(
                        json.dumps({"message": message}), id=str(next(ids)), event="overflow"
                    )
            finally:
                watcher.cancel()
    except (ConnectionResetError, TimeoutError):
        pass  # the client went away or stopped reading
    finally:
        sub.close()
        app[STREAMS_KEY].discard(sub)
    return sse


@table.route(
    "GET",
    "/api/events",
    name="events",
    summary="Live events of all the caller's jobs",
    description="The snapshot lists the caller's queued and running jobs.",
    params=(_LAST_EVENT_ID,),
    replies={200: _STREAM},
)
async def events(request: web.Request) -> web.StreamResponse:
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    # Subscribe before reading the snapshot, so nothing falls between the two.
    sub = engine.subscribe(owner=caller, max_backlog=request.app[BACKLOG_KEY])
    try:
        active = await engine.list_jobs(caller, states=_ACTIVE, limit=MAX_PAGE)
    except BaseException:
        sub.close()
        raise
    return await _stream(request, sub, {"jobs": [job_view(i) for i in active]})


@table.route(
    "GET",
    "/api/jobs/{id}/events",
    name="jobEvents",
    summary="A job's live events; the stream ends after `job_finished`",
    params=(id_param("job"), _LAST_EVENT_ID),
    replies={200: _STREAM},
    errors=(400, 404),
)
async def job_events(request: web.Request) -> web.StreamResponse:
    job_id = path_id(request, "job")
    caller = await owner(request)
    engine = request.app[ENGINE_KEY]
    sub = engine.subscribe(owner=caller, job_id=job_id, max_backlog=request.app[BACKLOG_KEY])
    try:
        info = await engine.get_job(job_id, caller)
    except BaseException:
        sub.close()
        raise
    return await _stream(
        request,
        sub,
        {"job": job_view(info)},
        finished=info.state.finished,
        one_job=True,
    )
