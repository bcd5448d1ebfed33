"""The application factory and the embedded server: routes, middleware and keys put together."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from tuiapp.errors import SettingsError
from tuiapp.server import (
    routes_assets,
    routes_jobs,
    routes_page,
    routes_service,
    routes_watches,
    routes_zip,
    sse,
)
from tuiapp.server.common import (
    BACKLOG_KEY,
    ENGINE_KEY,
    HOSTS_KEY,
    OPENAPI_KEY,
    PING_KEY,
    PUBLIC_KEY,
    STREAMS_KEY,
)
from tuiapp.server.middleware import (
    auth_middleware,
    browser_guard,
    error_middleware,
    security_headers,
)
from tuiapp.server.openapi import build_document

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tuiapp.engine import Engine, Subscription
    from tuiapp.server.routing import Operation, RouteTable

__all__ = ["OPERATIONS", "RunningServer", "create_app", "openapi_document", "start_server"]

MAX_BODY: Final = 64 * 1024
"""Largest request body in bytes; a job request is a few hundred."""

_TABLES: Final[tuple[RouteTable, ...]] = (
    routes_service.table,
    routes_jobs.table,
    sse.table,
    routes_assets.table,
    routes_zip.table,
    routes_page.table,
    routes_watches.table,
)
OPERATIONS: Final[tuple[Operation, ...]] = tuple(op for t in _TABLES for op in t.operations)
"""Every route of the API with what the document says about it."""


@functools.cache
def _document(sources: tuple[str, ...]) -> dict[str, Any]:
    return build_document(OPERATIONS, sources)


def openapi_document(sources: Sequence[str] = ()) -> dict[str, Any]:
    """The API's OpenAPI document; ``sources`` (the registered source names) become an enum."""
    return _document(tuple(sources))


def create_app(
    engine: Engine,
    *,
    ping_interval: float = 15.0,
    stream_backlog: int = 10_000,
    client_max_size: int = MAX_BODY,
    hosts: Iterable[str] = (),
) -> web.Application:
    """The API as an aiohttp application over ``engine`` (which the caller starts and closes).

    Args:
        engine: a started engine.
        ping_interval: seconds between keep-alive comments on event streams.
        stream_backlog: lifecycle events an event stream may lag by before it is cut off.
        client_max_size: largest request body in bytes (larger ones get 413).
        hosts: host names the server answers to besides loopback and its bound address.
    """
    app = web.Application(
        middlewares=[error_middleware, browser_guard, auth_middleware],
        client_max_size=client_max_size,
    )
    app[ENGINE_KEY] = engine
    streams: set[Subscription] = set()
    app[STREAMS_KEY] = streams
    app[PING_KEY] = ping_interval
    app[BACKLOG_KEY] = stream_backlog
    app[HOSTS_KEY] = frozenset(h.lower() for h in hosts)
    app[PUBLIC_KEY] = frozenset(
        (op.method, op.path) for table in _TABLES for op in table.operations if op.public
    )
    names = engine.source_names()
    # Built on first request: msgspec's schema generation is not paid at start-up.
    app[OPENAPI_KEY] = lambda: openapi_document(names)
    for table in _TABLES:
        app.add_routes(table.routes)
    app.on_response_prepare.append(security_headers)
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
        SettingsError: a non-loopback address while guests are allowed.
    """
    if engine.settings.allow_guests and not _loopback(host):
        raise SettingsError(
            "TUIAPP_HTTP_HOST",
            f"{host} is reachable from other machines while guests are allowed, so anyone there"
            " could use the API; set TUIAPP_ALLOW_GUESTS=false (API tokens then protect it)"
            " or serve on 127.0.0.1",
        )
    hosts = {host, *app_options.pop("hosts", ())}
    runner = web.AppRunner(
        create_app(engine, hosts=hosts, **app_options),
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


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
