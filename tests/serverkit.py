"""Helpers for the HTTP API tests: a picsum catalogue, an SSE reader, the response checker.

:class:`Conformance` checks every response the server sends during a test against the generated
OpenAPI document (status documented for that route, JSON body valid against that status'
schema); :func:`next_event` checks every event-stream payload against its event's schema. The
server test modules turn the checker on for every test with the ``responses_conform`` fixture
(``pytestmark = pytest.mark.usefixtures("responses_conform")``).

The fixtures here (a plugin of ``tests/conftest.py``): ``engine``, every source pointed at the
replay server, ``client``, the API app on it, and ``responses_conform``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jsonschema_rs
import pytest
from aiohttp import web

import tuiapp.server.app
from tests import images
from tests.replay import Handler, json_reply
from tuiapp import sources as registry
from tuiapp.events import EVENT_TYPES
from tuiapp.server import create_app, openapi_document
from tuiapp.server.middleware import error_middleware

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Mapping

    from aiohttp import ClientResponse
    from aiohttp.test_utils import TestClient
    from pytest_aiohttp import AiohttpClient

    from tests.conftest import EngineFactory
    from tests.replay import ReplayServer
    from tuiapp.engine import Engine

    Client = TestClient[web.Request, web.Application]

WIDTH, HEIGHT = 64, 48
JSON_TYPE = {"Content-Type": "application/json"}
"""What every POST to the API carries, a body or not."""


def photos(count: int, *, first: int = 1) -> dict[str, bytes]:
    """``count`` distinct PNG files keyed by picsum id."""
    return {str(i): images.png(WIDTH, HEIGHT, seed=i) for i in range(first, first + count)}


def serve_picsum(
    replay: ReplayServer, files: Mapping[str, bytes], *, image: Handler | None = None
) -> None:
    """A picsum catalogue of ``files`` (page 1 of ``/v2/list``), each served at its image URL.

    ``image`` replaces the image handler (a slow stream, say).
    """
    items = [
        {
            "id": pid,
            "width": WIDTH,
            "height": HEIGHT,
            "url": replay.url(f"/photos/{pid}"),
            "author": f"Author {pid}",
        }
        for pid in files
    ]

    async def listing(request: web.Request) -> web.StreamResponse:
        page = request.query.get("page", "1")
        return await json_reply(items if page == "1" else [])(request)

    async def photo(request: web.Request) -> web.StreamResponse:
        pid = request.path.split("/")[2]
        if pid not in files:
            return web.Response(status=404, text="no such photo")
        return web.Response(body=files[pid], content_type="image/png")

    async def info(request: web.Request) -> web.StreamResponse:
        pid = request.path.split("/")[2]
        item = next((i for i in items if i["id"] == pid), None)
        if item is None:
            return web.Response(status=404, text="no such photo")
        return await json_reply(item)(request)

    replay.add("/v2/list", listing)
    replay.add("/id/*", image or photo)
    for pid in files:
        replay.add(f"/id/{pid}/info", info)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def engine(engine_factory: EngineFactory, replay: ReplayServer) -> Engine:
    """An engine whose every source points at the replay server: nothing reaches the internet."""
    return await engine_factory(base_urls={name: replay.url() for name in registry.names()})


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, engine: Engine) -> Client:
    """A test client of the API app on ``engine``."""
    return await aiohttp_client(create_app(engine))


async def submit(
    client: Client, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Submit a job through the API (202 expected); returns the job as queued."""
    resp = await client.post("/api/jobs", json=body, headers=headers)
    assert resp.status == 202, await resp.text()
    job: dict[str, Any] = await resp.json()
    return job


async def run_job(
    client: Client, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Submit a job through the API and wait for its final state; returns the job."""
    job = await submit(client, body, headers)
    return await wait_until_finished(client, job["href"], headers)


async def wait_until_finished(
    client: Client, href: str, headers: Mapping[str, str] | None = None, wait: float = 20
) -> dict[str, Any]:
    """Poll a job through the API until it reaches a final state; returns the job."""
    async with asyncio.timeout(wait):
        while True:
            resp = await client.get(href, headers=headers)
            assert resp.status == 200, await resp.text()
            job: dict[str, Any] = await resp.json()
            if job["state"] not in ("queued", "running"):
                return job
            await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class SSEvent:
    event: str
    id: str | None
    data: Any


async def next_event(resp: ClientResponse, wait: float = 10) -> SSEvent | None:
    """The next Server-Sent Event of ``resp`` (comments skipped); None when the stream ends."""
    event, event_id = "message", None
    data: list[str] = []
    async with asyncio.timeout(wait):
        while True:
            raw = await resp.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    found = SSEvent(event, event_id, json.loads("\n".join(data)))
                    problems = _event_problems(found)
                    assert problems == [], f"{event} does not match its schema: {problems}"
                    return found
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "id":
                event_id = value
            elif name == "data":
                data.append(value)


async def events_until(resp: ClientResponse, kind: str, wait: float = 20) -> list[SSEvent]:
    """Events up to and including the first of ``kind``."""
    seen: list[SSEvent] = []
    async with asyncio.timeout(wait):
        while True:
            event = await next_event(resp, wait)
            assert event is not None, f"the stream ended before {kind}: {[e.event for e in seen]}"
            seen.append(event)
            if event.event == kind:
                return seen


# --- responses against the document ---------------------------------------------------------


@functools.cache
def _document() -> dict[str, Any]:
    # Response schemas do not depend on which sources are registered.
    return openapi_document()


@functools.cache
def _validator(pointer: str) -> jsonschema_rs.Validator:
    """A validator of the schema at ``pointer`` (``#/...``) in the document."""
    document = _document()
    return jsonschema_rs.Draft202012Validator(
        {"$ref": pointer, "components": document["components"], "paths": document["paths"]},
        validate_formats=True,
    )


def schema_problems(pointer: str, instance: Any) -> list[str]:
    """What is wrong with ``instance`` as the schema at ``pointer``; empty when it is valid."""
    return [
        f"{'/'.join(map(str, e.instance_path)) or '(body)'}: {e.message}"
        for e in _validator(pointer).iter_errors(instance)
    ]


def _escape(part: str) -> str:
    """``part`` as one step of a JSON pointer in a URI fragment (``{id}`` percent-encoded)."""
    return quote(part.replace("~", "~0").replace("/", "~1"), safe="~")


@dataclass
class Conformance:
    """Responses checked so far and what was wrong with them."""

    checked: int = 0
    failures: list[str] = field(default_factory=list)

    def check(
        self, method: str, path: str, status: int, media: str | None, body: bytes | None
    ) -> None:
        """Check one response of ``method path`` (a route as the document writes it)."""
        self.checked += 1
        what = f"{method} {path} -> {status}"
        operation = _document()["paths"].get(path, {}).get(method.lower())
        if operation is None:
            self.failures.append(f"{what}: the route is not in the document")
            return
        reply = operation["responses"].get(str(status))
        if reply is None:
            self.failures.append(f"{what}: status {status} is not documented for this route")
            return
        pointer = f"#/paths/{_escape(path)}/{method.lower()}/responses/{status}"
        if "$ref" in reply:
            pointer = reply["$ref"]
            reply = _document()["components"]["responses"][pointer.rsplit("/", 1)[1]]
        content = reply.get("content", {})
        if media == "application/json" and body is not None:
            if "application/json" not in content:
                self.failures.append(f"{what}: a JSON body where the document says {list(content)}")
                return
            problems = schema_problems(
                f"{pointer}/content/application~1json/schema", json.loads(body)
            )
            self.failures.extend(f"{what}: {p}" for p in problems)
        elif media is not None and content and media not in content and "*/*" not in content:
            self.failures.append(f"{what}: {media} where the document says {list(content)}")

    def middleware(
        self, inner: Callable[..., Awaitable[web.StreamResponse]]
    ) -> Callable[..., Awaitable[web.StreamResponse]]:
        """``inner`` (the server's error middleware) plus a check of what it answers."""

        @web.middleware
        async def checked(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            response = await inner(request, handler)
            resource = request.match_info.route.resource
            if resource is None:
                return response  # no route matched (404, 405): nothing documented to hold to
            body: bytes | None = None
            media: str | None = response.content_type
            if isinstance(response, web.Response):  # not a stream: its body is here
                raw = response.body
                body = raw if isinstance(raw, bytes) and raw else None
                media = media if body is not None else None
            if request.method == "HEAD":
                body, media = None, None
            self.check(request.method, resource.canonical, response.status, media, body)
            return response

        return checked


@pytest.fixture
def responses_conform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Conformance]:
    """Every response of the test is checked against the generated OpenAPI document."""
    yield from conformance(monkeypatch)


def conformance(monkeypatch: Any) -> Iterator[Conformance]:
    """Check every response of every app built during a test; fail the test on any mismatch.

    Wraps the server's error middleware (every app from ``create_app`` or ``start_server``
    goes through it) for the length of the test.
    """
    checker = Conformance()
    monkeypatch.setattr(tuiapp.server.app, "error_middleware", checker.middleware(error_middleware))
    yield checker
    assert checker.failures == [], "responses the document does not describe:\n" + "\n".join(
        checker.failures
    )


def _event_problems(event: SSEvent) -> list[str]:
    if event.event in EVENT_TYPES:
        name = EVENT_TYPES[event.event].__name__
        return schema_problems(f"#/components/schemas/{name}", event.data)
    if event.event == "snapshot":
        jobs = event.data["jobs"] if "jobs" in event.data else [event.data["job"]]
        return [p for job in jobs for p in schema_problems("#/components/schemas/Job", job)]
    return []
