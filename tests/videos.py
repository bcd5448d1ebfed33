"""Small valid MP4 files and servers for them, built in the tests (nothing is downloaded)."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from tests.replay import Handler

_FTYP = b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41"
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mvhd(duration_ms: int) -> bytes:
    payload = (
        b"\0\0\0\0"  # version 0, no flags
        + struct.pack(">IIII", 0, 0, 1000, duration_ms)  # created, modified, timescale, duration
        + struct.pack(">IH", 0x10000, 0x100)  # rate 1.0, volume 1.0
        + b"\0" * 10
        + _MATRIX
        + b"\0" * 24
        + struct.pack(">I", 2)  # next track id
    )
    return _box(b"mvhd", payload)


def mp4_head(total: int, duration_ms: int = 1000) -> bytes:
    """The ``ftyp``, ``moov`` and ``mdat`` header of an ISO-BMFF file ``total`` bytes long.

    The rest of the file (``total - len(head)`` bytes) is the ``mdat`` payload.
    """
    head = _box(b"ftyp", _FTYP) + _box(b"moov", _mvhd(duration_ms))
    payload = total - len(head) - 8
    if payload < 0:
        raise ValueError(f"an MP4 file is at least {len(head) + 8} bytes")
    return head + struct.pack(">I", 8 + payload) + b"mdat"


def mp4_bytes(total: int) -> bytes:
    """A whole small MP4 file (for files that fit in memory)."""
    head = mp4_head(total)
    return (
        head
        + bytes(range(256)) * ((total - len(head)) // 256)
        + b"\x07" * ((total - len(head)) % 256)
    )


@dataclass(slots=True)
class Served:
    """What a streaming handler sent, for tests that watch the server's side."""

    requests: int = 0
    sent: int = 0
    """Bytes of the latest response so far."""
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the latest response ended (sent whole, or the client went away)."""


def mp4_stream(
    total: int,
    *,
    chunk: int = 1 << 20,
    delay: float = 0.0,
    content_length: bool = True,
    stall_after: int | None = None,
    release: asyncio.Event | None = None,
    served: Served | None = None,
) -> Handler:
    """Serves an MP4 of ``total`` bytes made as it is sent (flat memory on both ends).

    Args:
        chunk: bytes per write.
        delay: seconds between writes (a slow server).
        content_length: send Content-Length (else the body is chunked).
        stall_after: stop sending after this many bytes of the body and wait for ``release``.
        release: set by the test when a stalled handler may end (it then closes the connection).
        served: filled in as the handler sends.
    """
    track = served if served is not None else Served()

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "video/mp4"}
        if content_length:
            headers["Content-Length"] = str(total)
        resp = web.StreamResponse(headers=headers)
        if not content_length:
            resp.enable_chunked_encoding()
        await resp.prepare(request)
        if request.method == "HEAD":
            return resp
        track.requests += 1
        track.ended.clear()
        try:
            head = mp4_head(total)
            await resp.write(head)
            track.sent = len(head)
            block = b"\0" * chunk
            while track.sent < total:
                if stall_after is not None and track.sent >= stall_after:
                    if release is not None:
                        await release.wait()
                    return resp  # short body: the client sees the connection end early
                piece = block if total - track.sent >= chunk else block[: total - track.sent]
                await resp.write(piece)
                track.sent += len(piece)
                if delay:
                    await asyncio.sleep(delay)
            await resp.write_eof()
            return resp
        finally:
            track.ended.set()

    return handler
