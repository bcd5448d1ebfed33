"""The embedded HTTP API: JSON over jobs, assets and sources, live events as Server-Sent Events.

A thin client of the engine, like the TUI and the CLI: each handler parses the request, calls one
engine method and answers with JSON. Every caller acts as a user (``Authorization: Bearer``) or as
a guest (no header); the engine's methods are owner-scoped, so another owner's job or asset is
simply not found. The routes are listed in :mod:`tuiapp.openapi`, served at
``/api/openapi.json``.

Host it with :func:`start_server` (the TUI and ``tuiapp serve`` do), or build the application
with :func:`create_app` (tests do).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import hdrs, web
from aiohttp_sse import EventSourceResponse

from tuiapp import __version__
from tuiapp.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TuiappError,
    UnauthorizedError,
)
from tuiapp.jobs import TERMINAL_JOB_STATES, JobSpec, JobState
from tuiapp.openapi import MAX_ID, MAX_PAGE, openapi_document

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from tuiapp.engine import Engine, Subscription
    from tuiapp.jobs import AssetInfo, JobInfo, UserInfo

__all__ = ["RunningServer", "create_app", "start_server"]

log = logging.getLogger(__name__)

MAX_BODY: Final = 64 * 1024
"""Largest request body in bytes; a job request is a few hundred."""
DEFAULT_PAGE: Final = 50
ASSET_KINDS: Final = ("image", "video", "audio", "file")
_JOB_FIELDS: Final = ("query", "sources", "count", "options")
_ACTIVE: Final = (JobState.QUEUED, JobState.RUNNING)

# --- application keys (all of them, in one place) ---------------------------------------------

ENGINE_KEY: Final[web.AppKey[Engine]] = web.AppKey("tuiapp.engine")
STREAMS_KEY: Final[web.AppKey[set[Subscription]]] = web.AppKey("tuiapp.streams")
"""Subscriptions of open event streams, closed at shutdown so no stream holds the server up."""
PING_KEY: Final[web.AppKey[float]] = web.AppKey("tuiapp.sse_ping")
"""Seconds between keep-alive comments on event streams."""
BACKLOG_KEY: Final[web.AppKey[int]] = web.AppKey("tuiapp.sse_backlog")
"""Lifecycle events an event stream may fall behind by before it is cut off (``overflow``)."""
OPENAPI_KEY: Final[web.AppKey[dict[str, Any]]] = web.AppKey("tuiapp.openapi")

routes = web.RouteTableDef()


# --- errors -----------------------------------------------------------------------------------

_STATUS_OF: Final[tuple[tuple[type[TuiappError], int], ...]] = (
    (NotFoundError, 404),
    (InvalidRequestError, 400),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
)
_HTTP_CODES: Final[Mapping[int, str]] = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answers every failure with ``{"error": {"code", "message"}}`` and a fitting status."""
    try:
        return await handler(request)
    except TuiappError as exc:
        status = next((s for cls, s in _STATUS_OF if isinstance(exc, cls)), 500)
        if status == 500:
            log.error("%s %s failed: %s", request.method, request.path, exc)
        challenge: dict[str, str] = {hdrs.WWW_AUTHENTICATE: "Bearer"}
        headers = challenge if status == 401 else None
        return _error(status, exc.code, exc.message, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            message = f"the request body is larger than {request.client_max_size:,} bytes"
        elif exc.status == 404:
            message = f"no such endpoint: {request.path}"
        elif exc.status == 405:
            message = f"{request.method} is not allowed on {request.path}"
        else:
            message = exc.reason
        headers = {k: v for k, v in exc.headers.items() if k == hdrs.ALLOW}
        return _error(
            exc.status, _HTTP_CODES.get(exc.status, f"http_{exc.status}"), message, headers
        )
    except Exception:
        # A bug: log it with its traceback here, and tell the client no more than that.
        log.exception("%s %s crashed", request.method, request.path)
        return _error(500, "internal_error", "internal server error (details are in the log)")


# --- request parsing --------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


def _whole(raw: str) -> int | None:
    """``raw`` as a non-negative integer, None if it is not written as one."""
    if not _DIGITS.fullmatch(raw):
        return None
    # Longer strings are above every bound we use; int() of thousands of digits is refused.
    return int(raw) if len(raw) <= 18 else 10**18


def _path_id(request: web.Request, what: str) -> int:
    raw = request.match_info["id"]
    value = _whole(raw)
    if value is None:
        raise InvalidRequestError(f"a {what} id is a whole number, not {raw!r:.40}")
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no {what} {raw}")
    return value


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = _optional_int(request, name, low, high)
    return default if value is None else value


def _optional_int(request: web.Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    value = _whole(raw.strip())
    if value is None or not low <= value <= high:
        raise InvalidRequestError(
            f"{name} must be a whole number from {low} to {high}, not {raw!r:.40}"
        )
    return value


def _paging(request: web.Request) -> tuple[int, int]:
    return (
        _query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE),
        _query_int(request, "offset", 0, 0, MAX_ID),
    )


async def _json_body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` for an empty optional body)."""
    raw = await request.read()  # raises 413 past client_max_size
    if not raw.strip() and optional:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:  # also UnicodeDecodeError
        raise InvalidRequestError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequestError(f"the body must be a JSON object, not {type(data).__name__}")
    return data


def _string(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(f"{key!r} must be a string")
    return value


def _job_spec(body: Mapping[str, Any], route: Callable[[str], str | None]) -> JobSpec:
    unknown = sorted(set(body) - set(_JOB_FIELDS))
    if unknown:
        raise InvalidRequestError(
            f"unknown field {', '.join(map(repr, unknown))}; a job takes {', '.join(_JOB_FIELDS)}"
        )
    query = _string(body, "query")
    if query is None:
        raise InvalidRequestError("'query' is required: search words or a URL")
    sources = body.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise InvalidRequestError("'sources' must be a list of source names")
    count = body.get("count", 10)
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidRequestError(f"'count' must be a whole number, not {count!r:.40}")
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise InvalidRequestError("'options' must be a JSON object")
    if not sources:
        routed = route(query)
        if routed is None:
            raise InvalidRequestError(
                "pick at least one source in 'sources' (see /api/sources):"
                f" no source takes {query.strip()!r:.80} as a URL"
            )
        sources = [routed]
    return JobSpec(query=query, sources=tuple(sources), count=count, options=options)


async def _user(request: web.Request) -> UserInfo | None:
    """The user the request acts as; None for a guest.

    Raises:
        UnauthorizedError: a malformed or wrong token, or no token while guests are off.
    """
    header = request.headers.get(hdrs.AUTHORIZATION)
    token = None
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise UnauthorizedError("the Authorization header must be 'Bearer <token>'")
        token = value.strip()
    return await request.app[ENGINE_KEY].authenticate(token)


async def _owner(request: web.Request) -> int | None:
    user = await _user(request)
    return None if user is None else user.id


# --- views ------------------------------------------------------------------------------------


def _job(info: JobInfo) -> dict[str, Any]:
    return {
        **info.to_dict(),
        "href": f"/api/jobs/{info.id}",
        "events_href": f"/api/jobs/{info.id}/events",
    }


def _asset(info: AssetInfo) -> dict[str, Any]:
    return {
        **info.to_dict(),
        "href": f"/api/assets/{info.id}",
        "content_href": f"/api/assets/{info.id}/content",
    }


def _accepted(info: JobInfo) -> web.Response:
    body = _job(info)
    return web.json_response(body, status=202, headers={hdrs.LOCATION: body["href"]})


# --- handlers: service ------------------------------------------------------------------------


@routes.get("/api/health", allow_head=False)
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})


@routes.get("/api/openapi.json", allow_head=False)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY])


@routes.get("/api/me", allow_head=False)
async def me(request: web.Request) -> web.Response:
    user = await _user(request)
    return web.json_response(
        {"guest": user is None, "user": None if user is None else user.to_dict()}
    )


@routes.get("/api/sources", allow_head=False)
async def sources(request: web.Request) -> web.Response:
    await _owner(request)
    return web.json_response({"sources": [s.to_dict() for s in request.app[ENGINE_KEY].sources()]})


# --- handlers: jobs ---------------------------------------------------------------------------


@routes.post("/api/jobs")
async def submit_job(request: web.Request) -> web.Response:
    owner = await _owner(request)
    engine = request.app[ENGINE_KEY]
    spec = _job_spec(await _json_body(request), engine.source_for_url)
    return _accepted(await engine.submit(spec, owner))


@routes.get("/api/jobs", allow_head=False)
async def list_jobs(request: web.Request) -> web.Response:
    owner = await _owner(request)
    limit, offset = _paging(request)
    states: list[JobState] = []
    for name in request.query.getall("state", []):
        try:
            states.append(JobState(name))
        except ValueError:
            raise InvalidRequestError(
                f"state must be one of {', '.join(JobState)}, not {name!r:.40}"
            ) from None
    infos = await request.app[ENGINE_KEY].list_jobs(
        owner,
        states=tuple(states),
        text=request.query.get("text") or None,
        limit=limit,
        offset=offset,
    )
    return web.json_response({"jobs": [_job(i) for i in infos], "limit": limit, "offset": offset})


@routes.get("/api/jobs/{id}", allow_head=False)
async def get_job(request: web.Request) -> web.Response:
    job_id = _path_id(request, "job")
    owner = await _owner(request)
    return web.json_response(_job(await request.app[ENGINE_KEY].get_job(job_id, owner)))


@routes.post("/api/jobs/{id}/cancel")
async def cancel_job(request: web.Request) -> web.Response:
    job_id = _path_id(request, "job")
    owner = await _owner(request)
    body = await _json_body(request, optional=True)
    if set(body) - {"source"}:
        raise InvalidRequestError("cancel takes only 'source' (omit it to cancel the whole job)")
    source = _string(body, "source")
    info = await request.app[ENGINE_KEY].cancel(job_id, owner, source)
    # The engine checks the source only while the job runs; say so for a finished job too.
    if source is not None and source not in {s.source for s in info.sources}:
        raise InvalidRequestError(f"job {job_id} has no source {source!r:.40}")
    return web.json_response(_job(info), status=202)


@routes.post("/api/jobs/{id}/rerun")
async def rerun_job(request: web.Request) -> web.Response:
    job_id = _path_id(request, "job")
    owner = await _owner(request)
    return _accepted(await request.app[ENGINE_KEY].rerun(job_id, owner))


@routes.delete("/api/jobs/{id}")
async def delete_job(request: web.Request) -> web.Response:
    job_id = _path_id(request, "job")
    owner = await _owner(request)
    await request.app[ENGINE_KEY].delete_job(job_id, owner)
    return web.Response(status=204)


# --- handlers: live events --------------------------------------------------------------------


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID")
    if raw is None:
        return None
    value = _whole(raw.strip())
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
                    message = "this stream fell too far behind; reconnect for a fresh snapshot"
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


@routes.get("/api/events", allow_head=False)
async def events(request: web.Request) -> web.StreamResponse:
    owner = await _owner(request)
    engine = request.app[ENGINE_KEY]
    # Subscribe before reading the snapshot, so nothing falls between the two.
    sub = engine.subscribe(owner=owner, max_backlog=request.app[BACKLOG_KEY])
    try:
        active = await engine.list_jobs(owner, states=_ACTIVE, limit=MAX_PAGE)
    except BaseException:
        sub.close()
        raise
    return await _stream(request, sub, {"jobs": [_job(i) for i in active]})


@routes.get("/api/jobs/{id}/events", allow_head=False)
async def job_events(request: web.Request) -> web.StreamResponse:
    job_id = _path_id(request, "job")
    owner = await _owner(request)
    engine = request.app[ENGINE_KEY]
    sub = engine.subscribe(owner=owner, job_id=job_id, max_backlog=request.app[BACKLOG_KEY])
    try:
        info = await engine.get_job(job_id, owner)
    except BaseException:
        sub.close()
        raise
    return await _stream(
        request,
        sub,
        {"job": _job(info)},
        finished=info.state in TERMINAL_JOB_STATES,
        one_job=True,
    )


# --- handlers: assets -------------------------------------------------------------------------


@routes.get("/api/assets", allow_head=False)
async def list_assets(request: web.Request) -> web.Response:
    owner = await _owner(request)
    engine = request.app[ENGINE_KEY]
    limit, offset = _paging(request)
    job_id = _optional_int(request, "job_id", 1, MAX_ID)
    source = request.query.get("source")
    known = [s.name for s in engine.sources()]
    if source is not None and source not in known:
        raise InvalidRequestError(f"unknown source {source!r:.40}; known: {', '.join(known)}")
    kind = request.query.get("type")
    if kind is not None and kind not in ASSET_KINDS:
        raise InvalidRequestError(f"type must be one of {', '.join(ASSET_KINDS)}, not {kind!r:.40}")
    infos = await engine.list_assets(
        owner,
        job_id=job_id,
        source=source,
        kind=kind,
        text=request.query.get("text") or None,
        limit=limit,
        offset=offset,
    )
    return web.json_response(
        {"assets": [_asset(a) for a in infos], "limit": limit, "offset": offset}
    )


@routes.get("/api/assets/{id}", allow_head=False)
async def get_asset(request: web.Request) -> web.Response:
    asset_id = _path_id(request, "asset")
    owner = await _owner(request)
    return web.json_response(_asset(await request.app[ENGINE_KEY].get_asset(asset_id, owner)))


@routes.delete("/api/assets/{id}")
async def delete_asset(request: web.Request) -> web.Response:
    asset_id = _path_id(request, "asset")
    owner = await _owner(request)
    await request.app[ENGINE_KEY].delete_asset(asset_id, owner)
    return web.Response(status=204)


_RANGE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """A well-formed byte range that lies wholly past the end of the file."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` a ``Range`` header asks for (stop exclusive), None for all of it.

    Only a single ``bytes=`` range is honoured; other forms (several ranges, other units,
    malformed values) are ignored and the whole file is sent, as RFC 9110 allows.

    Raises:
        RangeNotSatisfiable: the range starts at or past the end of the file.
    """
    if header is None or (match := _RANGE.fullmatch(header)) is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        if not last:
            return None
        suffix = _whole(last) or 0
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size
    start = _whole(first) or 0
    stop = size if not last else (_whole(last) or 0) + 1
    if last and stop <= start:
        return None  # "bytes=5-2" is malformed: ignore it
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(stop, size)


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: any listed tag equals ours (weak comparison), or ``*``."""
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


@routes.route(hdrs.METH_HEAD, "/api/assets/{id}/content")
@routes.get("/api/assets/{id}/content", allow_head=False)
async def asset_content(request: web.Request) -> web.StreamResponse:
    asset_id = _path_id(request, "asset")
    owner = await _owner(request)
    engine = request.app[ENGINE_KEY]
    asset = await engine.get_asset(asset_id, owner)
    etag = f'"{asset.sha256}"'
    headers: dict[str, str] = {
        hdrs.ETAG: etag,
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.CACHE_CONTROL: "private, no-cache",
        # Stored files come from anywhere: never let a browser run them as part of the API.
        hdrs.CONTENT_SECURITY_POLICY: "sandbox",
        hdrs.X_CONTENT_TYPE_OPTIONS: "nosniff",
    }
    if (match := request.headers.get(hdrs.IF_NONE_MATCH)) is not None and _etag_matches(
        match, etag
    ):
        return web.Response(status=304, headers=headers)
    wanted = request.headers.get(hdrs.RANGE)
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's copy is stale: send the whole new file
    try:
        span = byte_range(wanted, asset.size)
    except RangeNotSatisfiable:
        return _error(
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
    _, chunks = await engine.read_asset(asset_id, owner, start, stop)
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


# --- the application --------------------------------------------------------------------------


def create_app(
    engine: Engine,
    *,
    ping_interval: float = 15.0,
    stream_backlog: int = 10_000,
    client_max_size: int = MAX_BODY,
) -> web.Application:
    """The API as an aiohttp application over ``engine`` (which the caller starts and closes).

    Args:
        engine: a started engine.
        ping_interval: seconds between keep-alive comments on event streams.
        stream_backlog: lifecycle events an event stream may lag by before it is cut off.
        client_max_size: largest request body in bytes (larger ones get 413).
    """
    app = web.Application(middlewares=[error_middleware], client_max_size=client_max_size)
    app[ENGINE_KEY] = engine
    streams: set[Subscription] = set()
    app[STREAMS_KEY] = streams
    app[PING_KEY] = ping_interval
    app[BACKLOG_KEY] = stream_backlog
    app[OPENAPI_KEY] = openapi_document([s.name for s in engine.sources()])
    app.add_routes(routes)
    app.on_shutdown.append(_end_streams)
    return app


async def _end_streams(app: web.Application) -> None:
    streams = app[STREAMS_KEY]
    for sub in tuple(streams):
        sub.close()


@dataclass(frozen=True, slots=True)
class RunningServer:
    """The API listening on ``url`` until :meth:`close`."""

    url: str
    runner: web.AppRunner

    async def close(self) -> None:
        """Stop listening, end open event streams, wait for requests in flight."""
        await self.runner.cleanup()


async def start_server(
    engine: Engine, host: str = "127.0.0.1", port: int = 8765, **app_options: Any
) -> RunningServer:
    """Serve the API for ``engine`` on ``host:port`` (port 0 picks a free one).

    For embedding: installs no signal handlers and writes no access log.

    Raises:
        OSError: the address cannot be bound (in use, not local ...).
    """
    runner = web.AppRunner(
        create_app(engine, **app_options),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=5.0,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(url=f"http://{shown}:{bound}", runner=runner)
