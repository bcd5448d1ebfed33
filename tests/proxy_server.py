"""A small recording proxy on loopback: plain GETs by absolute URL, CONNECT tunnels, SOCKS5.

Every request head it is sent is recorded (``requests``: ``"GET http://…"``, ``"CONNECT h:p"``)
before it is carried out, and a SOCKS5 request as ``"SOCKS h:p"``; it only ever connects to
127.0.0.1. ``refuse_connect`` makes it answer
CONNECT with 403, ``require_auth`` asks for ``Proxy-Authorization`` first (407).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["RecordingProxy", "recording_proxy"]


class RecordingProxy:
    def __init__(self, *, refuse_connect: bool = False, require_auth: str | None = None) -> None:
        self.requests: list[str] = []
        self.auth: list[str | None] = []
        self.outbound_ports: set[int] = set()
        """Local ports of the connections this proxy opened to origins."""
        self.refuse_connect = refuse_connect
        self.require_auth = require_auth
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _socks5(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """RFC 1928 CONNECT, with RFC 1929 user/password when offered; no other command."""
        methods = await reader.readexactly((await reader.readexactly(1))[0])
        login = 2 in methods
        writer.write(b"\x05" + (b"\x02" if login else b"\x00"))
        if login:
            await reader.readexactly(1)
            user = await reader.readexactly((await reader.readexactly(1))[0])
            password = await reader.readexactly((await reader.readexactly(1))[0])
            self.auth.append(f"{user.decode()}:{password.decode()}")
            writer.write(b"\x01\x00")
        else:
            self.auth.append(None)
        _, command, _, kind = await reader.readexactly(4)
        if kind == 3:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        else:
            raw = await reader.readexactly(4 if kind == 1 else 16)
            host = ".".join(map(str, raw)) if kind == 1 else raw.hex()
        port = int.from_bytes(await reader.readexactly(2), "big")
        self.requests.append(f"SOCKS {host}:{port}")
        if command != 1 or host not in ("127.0.0.1", "localhost"):
            writer.write(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by the ruleset
            await writer.drain()
            return
        up_reader, up_writer = await self._upstream(host, port)
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        await self._pipe(reader, writer, up_reader, up_writer)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.readexactly(1)
        if first == b"\x05":
            await self._socks5(reader, writer)
            return
        head = first + await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
        }
        self.requests.append(f"{method} {target}")
        self.auth.append(headers.get("proxy-authorization"))
        if self.require_auth is not None:
            expected = "Basic " + base64.b64encode(self.require_auth.encode()).decode()
            if headers.get("proxy-authorization") != expected:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
                writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
        if method == "CONNECT":
            if self.refuse_connect:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await self._upstream(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._pipe(reader, writer, up_reader, up_writer)
            return
        parts = urlsplit(target)
        up_reader, up_writer = await self._upstream(parts.hostname or "", parts.port or 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        kept = [
            line
            for line in lines[1:]
            if line
            and line.split(":", 1)[0].strip().lower()
            not in ("proxy-authorization", "proxy-connection", "connection", "keep-alive")
        ]
        upstream_head = [f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""]
        up_writer.write("\r\n".join(upstream_head).encode("latin-1"))
        await up_writer.drain()
        await self._pipe(reader, writer, up_reader, up_writer)

    async def _upstream(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if host not in ("127.0.0.1", "localhost"):
            raise ConnectionError(f"this proxy reaches loopback only, not {host}")
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        self.outbound_ports.add(up_writer.get_extra_info("sockname")[1])
        return up_reader, up_writer

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@contextlib.asynccontextmanager
async def recording_proxy(
    *, refuse_connect: bool = False, require_auth: str | None = None
) -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy(refuse_connect=refuse_connect, require_auth=require_auth)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
