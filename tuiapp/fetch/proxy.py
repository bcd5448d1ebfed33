"""Requests through a proxy: the aiohttp session that goes through one (SOCKS through
aiohttp-socks), and the proxy's failures told apart from the site's.

Which proxy a request takes (a source's own, ``TUIAPP_PROXY``, the standard variables) is
:mod:`tuiapp.proxies`' business.
"""

from __future__ import annotations

import errno
import warnings
from typing import TYPE_CHECKING, Any

import aiohttp

from tuiapp.errors import ProxyUnreachableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tuiapp.proxies import Proxy

__all__ = ["login_refused", "proxy_failure", "proxy_session"]


def proxy_session(
    proxy: Proxy, direct: Callable[[], aiohttp.BaseConnector], **options: Any
) -> aiohttp.ClientSession:
    """An aiohttp session whose every request goes through ``proxy``.

    SOCKS proxies are a connector of aiohttp-socks (imported here, at the first use); http(s)
    proxies are the session's default proxy over ``direct`` (the guarded connector, which
    allows the named proxy's address and leaves what it reaches to it).
    """
    if proxy.scheme.startswith("socks"):
        from aiohttp_socks import ProxyConnector, ProxyType

        connector = ProxyConnector(
            host=proxy.host,
            port=proxy.port,
            proxy_type=ProxyType.SOCKS5,
            username=proxy.username,
            password=proxy.password,
            rdns=proxy.remote_names,
            limit=0,
        )
        return aiohttp.ClientSession(connector=connector, **options)
    with warnings.catch_warnings():
        # aiohttp 3.14 deprecates proxy_auth for proxy_headers, which do not reach the proxy
        # with plain-http requests; the session's default login does, on every hop.
        warnings.simplefilter("ignore", DeprecationWarning)
        login = None
        if proxy.username is not None:
            login = aiohttp.BasicAuth(proxy.username, proxy.password or "")
        return aiohttp.ClientSession(
            connector=direct(), proxy=proxy.bare_url, proxy_auth=login, **options
        )


def login_refused(proxy: Proxy) -> ProxyUnreachableError:
    """HTTP 407 comes from the proxy, never the site."""
    why = "it refused the login" if proxy.username is not None else "it asks for a login"
    return ProxyUnreachableError(proxy.address, f"{why}, HTTP 407")


def proxy_failure(exc: BaseException) -> str | None:
    """Why the proxy, not the site, failed a request; None when it was not the proxy."""
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return exc.os_error.strerror or type(exc.os_error).__name__
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"it answered HTTP {exc.status} to CONNECT"
    module = type(exc).__module__
    if module.startswith(("aiohttp_socks", "python_socks")):
        text = str(exc)
        code = getattr(exc, "error_code", None) or getattr(exc.__cause__, "errno", None)
        refused = code == errno.ECONNREFUSED or f"[Errno {errno.ECONNREFUSED}]" in text
        refused = refused or "refused" in text.lower()
        if refused or isinstance(exc.__cause__, ConnectionRefusedError):
            return "connection refused"
        return text[:200] or type(exc).__name__
    return None
