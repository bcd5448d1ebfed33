"""Handlers for a hostile origin: every way a server can misbehave, for the fault drills."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from tests.replay import Handler

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def always(status: int) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=f"error {status}")

    return handler


def truncated(size: int = 300_000, sent: int = 100_000) -> Handler:
    """Promises ``size`` bytes, sends ``sent``, hangs up."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "image/png", "Content-Length": str(size)}
        )
        await resp.prepare(request)
        await resp.write(PNG_HEAD + os.urandom(sent - len(PNG_HEAD)))
        assert request.transport is not None
        request.transport.close()
        return resp

    return handler


def reset_mid_body(sent: int = 2_500_000) -> Handler:
    """Streams without a length, then resets the connection (an abort, not a clean end)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(PNG_HEAD + os.urandom(sent))
        assert request.transport is not None
        request.transport.abort()
        return resp

    return handler


def reset_before_answer() -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    return handler


def slow_drip(body: bytes, delay: float) -> Handler:
    """A complete file, a few bytes at a time, never silent for longer than ``delay``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "image/png", "Content-Length": str(len(body))}
        )
        await resp.prepare(request)
        for i in range(0, len(body), 64):
            await resp.write(body[i : i + 64])
            await asyncio.sleep(delay)
        await resp.write_eof()
        return resp

    return handler


def redirect_loop(path: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(path)

    return handler


def endless() -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(PNG_HEAD)
        block = os.urandom(256 * 1024)
        while True:
            await resp.write(block)

    return handler
