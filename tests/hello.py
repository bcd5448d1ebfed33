"""A loopback TLS listener that records each ClientHello it is sent and hangs up.

It never finishes a handshake: it reads the first TLS record of each connection, parses the
ClientHello's cipher suites and extensions (RFC 8446, section 4.1.2) and closes. Enough to tell
a browser's handshake (GREASE values, its extension list) from OpenSSL's default one.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["ALPS", "COMPRESS_CERTIFICATE", "ClientHello", "HelloListener", "is_grease", "listening"]

COMPRESS_CERTIFICATE = 0x001B
ALPS = frozenset({0x4469, 0x44CD})
"""application_settings, old and new code points: Chrome sends one, OpenSSL neither."""
ALPN = 0x0010


def is_grease(value: int) -> bool:
    """RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA."""
    return value & 0x0F0F == 0x0A0A and value >> 8 == value & 0xFF


@dataclass(slots=True)
class ClientHello:
    ciphers: list[int] = field(default_factory=list)
    extensions: list[int] = field(default_factory=list)
    alpn: list[str] = field(default_factory=list)

    @property
    def grease(self) -> bool:
        return any(map(is_grease, self.ciphers)) and any(map(is_grease, self.extensions))

    def looks_like_chrome(self) -> bool:
        """GREASE in suites and extensions, certificate compression, ALPS, h2 offered."""
        kinds = set(self.extensions)
        return (
            self.grease
            and COMPRESS_CERTIFICATE in kinds
            and bool(ALPS & kinds)
            and "h2" in self.alpn
        )


def parse_client_hello(record: bytes) -> ClientHello:
    """The ClientHello in a TLS handshake record's body (the 5-byte record header removed)."""
    hello = ClientHello()
    if not record or record[0] != 1:  # handshake type client_hello
        raise ValueError("not a ClientHello")
    pos = 4 + 2 + 32  # type + length, legacy version, random
    pos += 1 + record[pos]  # session id
    size = int.from_bytes(record[pos : pos + 2], "big")
    pos += 2
    hello.ciphers = [int.from_bytes(record[i : i + 2], "big") for i in range(pos, pos + size, 2)]
    pos += size
    pos += 1 + record[pos]  # compression methods
    end = pos + 2 + int.from_bytes(record[pos : pos + 2], "big")
    pos += 2
    while pos + 4 <= end:
        kind = int.from_bytes(record[pos : pos + 2], "big")
        length = int.from_bytes(record[pos + 2 : pos + 4], "big")
        body = record[pos + 4 : pos + 4 + length]
        hello.extensions.append(kind)
        if kind == ALPN and len(body) > 2:
            i = 2
            while i < len(body):
                n = body[i]
                hello.alpn.append(body[i + 1 : i + 1 + n].decode("ascii", "replace"))
                i += 1 + n
        pos += 4 + length
    return hello


class HelloListener:
    """Records every ClientHello sent to it (``hellos``), then hangs up."""

    def __init__(self) -> None:
        self.hellos: list[ClientHello] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readexactly(5), 5)
            if head[0] == 0x16:  # a handshake record
                body = await asyncio.wait_for(
                    reader.readexactly(int.from_bytes(head[3:5], "big")), 5
                )
                self.hellos.append(parse_client_hello(body))
        except (asyncio.IncompleteReadError, TimeoutError, ValueError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def listening() -> AsyncIterator[HelloListener]:
    listener = HelloListener()
    await listener.start()
    try:
        yield listener
    finally:
        await listener.close()
