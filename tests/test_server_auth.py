"""Who may call what is the route table's to say: a route is public or it needs a caller, and
the caller is looked up before any handler runs (a handler cannot forget)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.serverkit import bearer
from tuiapp.server import create_app
from tuiapp.server.common import ENGINE_KEY, PUBLIC_KEY, owner
from tuiapp.server.middleware import auth_middleware, error_middleware
from tuiapp.server.routing import Reply, RouteTable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pytest_aiohttp import AiohttpClient

    from tuiapp.engine import Engine

    EngineFactory = Callable[..., Awaitable[Engine]]


def _routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path with ids filled in) of every route the application serves."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method == "*":
            continue
        found.append((route.method, re.sub(r"\{[^}]+\}", "1", resource.canonical)))
    return found


async def test_without_guests_every_route_but_the_public_ones_answers_401(
    aiohttp_client: AiohttpClient, engine_factory: EngineFactory
) -> None:
    engine = await engine_factory(allow_guests=False)
    app = create_app(engine)
    client = await aiohttp_client(app)
    public = {path for _, path in app[PUBLIC_KEY]}
    # The web page and its sign-in are public: the page holds no data, a sign-in is a token.
    answers = {
        ("GET", "/api/health"): 200,
        ("GET", "/api/openapi.json"): 200,
        ("GET", "/"): 200,
        ("GET", "/static/1"): 404,
        ("POST", "/api/session"): 400,  # {} names no token
        ("DELETE", "/api/session"): 204,
    }
    assert public == {"/api/health", "/api/openapi.json", "/", "/static/{name}", "/api/session"}
    routes = _routes(app)
    assert len(routes) > 10
    for method, path in routes:
        headers = {"Content-Type": "application/json"}
        resp = await client.request(method, path, headers=headers, data=b"{}")
        if (method, path) in answers:
            assert resp.status == answers[method, path], (method, path)
        else:
            assert resp.status == 401, (method, path, resp.status, await resp.text())
            if method != "HEAD":
                assert (await resp.json())["error"]["code"] == "unauthorized"


async def test_a_handler_that_never_asks_for_its_caller_is_still_guarded(
    aiohttp_client: AiohttpClient, engine_factory: EngineFactory
) -> None:
    engine = await engine_factory(allow_guests=False)
    _, token = await engine.create_user("alice")
    table = RouteTable()
    reply = {200: Reply("ok")}

    @table.route("GET", "/forgetful", name="forgetful", summary="x", replies=reply)
    async def forgetful(request: web.Request) -> web.Response:
        return web.Response(text="secret")

    @table.route("GET", "/open", name="open", summary="x", replies=reply, public=True)
    async def open_route(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    @table.route("GET", "/whoami", name="whoami", summary="x", replies=reply)
    async def whoami(request: web.Request) -> web.Response:
        return web.Response(text=str(await owner(request)))

    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[ENGINE_KEY] = engine
    app[PUBLIC_KEY] = frozenset((op.method, op.path) for op in table.operations if op.public)
    app.add_routes(table.routes)
    client = await aiohttp_client(app)
    assert (await client.get("/forgetful")).status == 401
    assert (await client.get("/open")).status == 200
    resp = await client.get("/whoami", headers=bearer(token))
    assert (resp.status, await resp.text()) == (200, "1")
    assert (await client.get("/nowhere")).status == 404  # no route: no lookup, a plain 404


@pytest.mark.parametrize("path", ["/api/health", "/api/openapi.json"])
async def test_public_routes_take_even_a_wrong_token(
    aiohttp_client: AiohttpClient, engine_factory: EngineFactory, path: str
) -> None:
    """A public route looks nobody up, so a stale token does not lock a client out of it."""
    client = await aiohttp_client(create_app(await engine_factory()))
    resp = await client.get(path, headers={"Authorization": "Bearer stale"})
    assert resp.status == 200
