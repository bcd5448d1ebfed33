"""Whether a site's host answers, directly or through a proxy: its name resolves, TCP connects,
TLS shakes hands. `tuiapp doctor`'s reach test (:mod:`tuiapp.engine.doctor`) and what it reports
(:class:`Check`)."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from tuiapp.proxies import Proxy

    Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

__all__ = ["REACH_TIMEOUT", "Check", "Resolver", "reach"]

REACH_TIMEOUT = 3.0
"""Seconds a reach test may take: name, connection and TLS handshake together."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One thing checked: ``ok`` False with ``advice`` when something needs doing."""

    name: str
    ok: bool
    detail: str
    advice: str | None = None
    optional: bool = False
    """The user's own account (an API key, a login's cookies): without it only the source that
    needs it is out, and an install is not broken for lacking it."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def reach(
    url: str,
    *,
    within: float = REACH_TIMEOUT,
    resolver: Resolver | None = None,
    proxy: Proxy | None = None,
) -> Check:
    """Whether ``url``'s host answers: its name resolves, TCP connects, TLS shakes hands (https).

    ``resolver`` turns (host, port) into addresses; the system's resolver by default. With a
    ``proxy``, the connection goes through it (``CONNECT`` or SOCKS5) and a proxy that refuses
    or cannot be reached is named as such.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    where = f"{host}:{port}"
    step = "resolving"
    started = time.monotonic()
    if proxy is not None:
        return await _reach_through(proxy, host, port, secure, within)
    try:
        async with asyncio.timeout(within):
            addresses = await (resolver or _resolve)(host, port)
            step = "connecting"
            _, writer = await asyncio.open_connection(addresses[0], port)
            try:
                if secure:
                    step = "TLS handshake"
                    await writer.start_tls(ssl.create_default_context(), server_hostname=host)
            finally:
                writer.close()
    except TimeoutError:
        why = f"no answer within {within:g} s ({step})"
    except (socket.gaierror, IndexError) as exc:
        why = f"name not resolved ({getattr(exc, 'strerror', None) or exc or 'no address'})"
    except ssl.SSLError as exc:
        why = f"TLS failed ({exc.reason or exc})"
    except OSError as exc:
        why = f"cannot connect ({exc.strerror or exc})"
    else:
        elapsed = (time.monotonic() - started) * 1000
        return Check(name="reach", ok=True, detail=f"{where} answers ({elapsed:.0f} ms)")
    return Check(
        name="reach",
        ok=False,
        detail=f"cannot reach {where}: {why}",
        advice="check the network, a proxy or firewall, or the source's base URL setting",
    )


async def _reach_through(proxy: Proxy, host: str, port: int, secure: bool, within: float) -> Check:
    """The reach test through ``proxy``: the proxy connected, asked for the host, TLS done."""
    where = f"{host}:{port}"
    step = "connecting to the proxy"
    started = time.monotonic()
    try:
        async with asyncio.timeout(within):
            reader, writer = await _open_proxy(proxy, host, port)
            try:
                step = "asking the proxy"
                await _tunnel(proxy, reader, writer, host, port)
                if secure:
                    step = "TLS handshake"
                    await writer.start_tls(ssl.create_default_context(), server_hostname=host)
            finally:
                writer.close()
    except TimeoutError:
        why = f"no answer within {within:g} s ({step})"
    except _ProxyRefused as exc:
        why = str(exc)
    except ssl.SSLError as exc:
        why = f"TLS failed ({exc.reason or exc})"
    except ConnectionRefusedError:
        why = "connection refused"
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
    else:
        elapsed = (time.monotonic() - started) * 1000
        return Check(
            name="reach",
            ok=True,
            detail=f"{where} answers through proxy {proxy.shown()} ({elapsed:.0f} ms)",
        )
    if step == "connecting to the proxy" or step == "asking the proxy":
        detail = f"cannot reach proxy {proxy.address} ({why})"
        advice = "check the proxy setting (TUIAPP_PROXY, the proxy variables) and the proxy"
    else:
        detail = f"cannot reach {where} through proxy {proxy.address}: {why}"
        advice = "check what the proxy lets through, or the source's base URL setting"
    return Check(name="reach", ok=False, detail=detail, advice=advice)


class _ProxyRefused(Exception):
    """The proxy answered, and refused to reach the host."""


async def _open_proxy(
    proxy: Proxy, host: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the proxy; through a SOCKS proxy, already to ``host:port``."""
    if proxy.scheme.startswith("socks"):
        from python_socks import ProxyError
        from python_socks.async_.asyncio import Proxy as Socks

        socks = Socks.from_url(
            proxy.url.replace("socks5h://", "socks5://"), rdns=proxy.remote_names
        )
        try:
            sock = await socks.connect(dest_host=host, dest_port=port)
        except ProxyError as exc:
            raise _ProxyRefused(f"it refused: {exc}") from None
        return await asyncio.open_connection(sock=sock)
    context = ssl.create_default_context() if proxy.scheme == "https" else None
    return await asyncio.open_connection(proxy.host, proxy.port, ssl=context)


async def _tunnel(
    proxy: Proxy,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
) -> None:
    """Ask an HTTP proxy for a connection to ``host:port`` (``CONNECT``)."""
    if proxy.scheme.startswith("socks"):
        return  # the SOCKS handshake asked for it already
    lines = [f"CONNECT {host}:{port} HTTP/1.1", f"Host: {host}:{port}"]
    if proxy.username is not None:
        token = base64.b64encode(f"{proxy.username}:{proxy.password or ''}".encode()).decode()
        lines.append(f"Proxy-Authorization: Basic {token}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    status = (await reader.readline()).split()
    while (await reader.readline()).strip():
        pass
    if len(status) < 2 or status[1] != b"200":
        code = status[1].decode(errors="replace") if len(status) > 1 else "nothing"
        raise _ProxyRefused(f"it answered HTTP {code} to CONNECT")


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]
