"""Helpers for the HTTP API tests: a picsum catalogue on the replay server, an SSE reader."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests import images
from tests.replay import Handler, json_reply

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiohttp import ClientResponse
    from aiohttp.test_utils import TestClient

    from tests.replay import ReplayServer

    Client = TestClient[web.Request, web.Application]

WIDTH, HEIGHT = 64, 48


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
                    return SSEvent(event, event_id, json.loads("\n".join(data)))
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
