"""A local aiohttp server on 127.0.0.1 that replays scripted and recorded responses.

Tests point a source's base URL (``TUIAPP_<SOURCE>_BASE_URL``) at it. Routes are matched on the
path alone (query strings are recorded for assertions, not matched) unless a route says otherwise.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""Fixture files, in folders named for what they are (see ``fixtures/README.md``)."""
RECORDED = FIXTURES / "recorded"
"""Byte-exact responses of the real sites, each with its provenance file."""
HANDWRITTEN = FIXTURES / "handwritten"
"""Pages written by hand (ours, and a third party's golden files); never served by a site."""
FROM_DOCS = FIXTURES / "from_docs"
"""Example answers printed in documentation; not byte-exact."""
FROM_CLIENT_TESTS = FIXTURES / "from_client_tests"
"""API answers taken from other clients' test suites; reformatted or trimmed."""


@dataclass(frozen=True, slots=True)
class Recorded:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]


@dataclass(slots=True)
class Reply:
    """A canned response."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=self.body,
            status=self.status,
            headers=dict(self.headers),
            content_type=self.content_type,
        )


def json_reply(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(json.dumps(data).encode(), status, headers or {}, "application/json")


def file_reply(path: Path, content_type: str, status: int = 200) -> Reply:
    return Reply(path.read_bytes(), status, {}, content_type)


class Sequence:
    """Answers with each handler in turn, then keeps answering with the last one."""

    def __init__(self, handlers: Iterable[Handler]) -> None:
        self._handlers = list(handlers)
        self.calls = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        handler = self._handlers[min(self.calls, len(self._handlers) - 1)]
        self.calls += 1
        return await handler(request)


def stall_after_headers(seconds: float = 3600) -> Handler:
    """Sends headers and a few bytes, then nothing."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": "100000"})
        await resp.prepare(request)
        await resp.write(b"\x89PNG\r\n\x1a\n")
        await asyncio.sleep(seconds)
        return resp

    return handler


def stream(chunks: int, chunk: bytes, content_type: str, delay: float = 0.0) -> Handler:
    """A long body produced as it is sent, so the server never holds it whole."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": content_type, "Content-Length": str(chunks * len(chunk))}
        )
        await resp.prepare(request)
        for _ in range(chunks):
            await resp.write(chunk)
            if delay:
                await asyncio.sleep(delay)
        await resp.write_eof()
        return resp

    return handler


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Recorded] = []
        self.base = ""
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)

    def add(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def url(self, path: str = "") -> str:
        return f"{self.base}{path}"

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers))
        )
        handler = self.routes.get(request.path)
        if handler is None:
            prefix = max(
                (p for p in self.routes if p.endswith("*") and request.path.startswith(p[:-1])),
                key=len,
                default=None,
            )
            handler = self.routes.get(prefix) if prefix else None
        if handler is None:
            return web.Response(status=404, text=f"no route for {request.path}")
        return await handler(request)
