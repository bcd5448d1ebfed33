"""The middleware: every failure becomes a JSON error; web pages cannot drive the API.

The API listens next to a web browser. A page on any site can make the browser send requests
to 127.0.0.1, so :func:`browser_guard` answers only requests that name this server in ``Host``
(a name that re-resolves to 127.0.0.1, "DNS rebinding", does not), that come from no foreign
``Origin``, and whose state changes are ``application/json`` (a form or a no-cors fetch cannot
send that without the browser first asking permission, which this server never grants).
:func:`security_headers` gives every answer the page's Content-Security-Policy (no inline or
evaluated script, no framing) unless a route set a stricter one (stored files: ``sandbox``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from aiohttp import hdrs, web

from tuiapp.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    TuiappError,
    UnauthorizedError,
    UnavailableError,
)
from tuiapp.server.common import CALLER_KEY, HOSTS_KEY, PUBLIC_KEY, error, user

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

__all__ = [
    "HTTP_CODES",
    "PAGE_CSP",
    "auth_middleware",
    "browser_guard",
    "error_middleware",
    "security_headers",
]

log = logging.getLogger("tuiapp.server")

_STATUS_OF: Final[tuple[tuple[type[TuiappError], int], ...]] = (
    (NotFoundError, 404),
    (InvalidRequestError, 400),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (UnavailableError, 503),
)
HTTP_CODES: Final[Mapping[int, str]] = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    421: "misdirected_request",
}
"""The error code of a status aiohttp itself answers with."""


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Looks the caller up before the handler runs, unless the route table marks the route
    public: a handler cannot forget to (it reads the answer with ``owner``/``caller``).

    A route missing from the table needs a caller too; a path no route matches is left to
    answer 404 or 405.
    """
    match = request.match_info
    if match.http_exception is None:
        resource = match.route.resource
        path = resource.canonical if resource is not None else request.path
        if (request.method, path) not in request.app[PUBLIC_KEY]:
            request[CALLER_KEY] = await user(request)
    return await handler(request)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answers every failure with ``{"error": {"code", "message"}}`` and a fitting status."""
    try:
        return await handler(request)
    except TuiappError as exc:
        status = next((s for cls, s in _STATUS_OF if isinstance(exc, cls)), 500)
        if status == 500:
            log.error("%s %s failed: %s", request.method, request.path, exc)
        headers: dict[str, str] | None = None
        if status == 401:
            headers = {hdrs.WWW_AUTHENTICATE: "Bearer"}
        elif isinstance(exc, UnavailableError):
            headers = {hdrs.RETRY_AFTER: str(exc.retry_after)}
        return error(status, exc.code, exc.message, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            message = f"the request body is larger than {request.client_max_size:,} bytes"
        elif exc.status == 404:
            message = f"no such endpoint: {request.path}"
        elif exc.status == 405:
            message = f"{request.method} is not allowed on {request.path}"
        else:
            message = exc.reason
        headers = {k: v for k, v in exc.headers.items() if k == hdrs.ALLOW}
        return error(exc.status, HTTP_CODES.get(exc.status, f"http_{exc.status}"), message, headers)
    except Exception:
        # A bug: log it with its traceback here, and tell the client no more than that.
        log.exception("%s %s crashed", request.method, request.path)
        return error(500, "internal_error", "internal server error (details are in the log)")


LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "[::1]")
JSON_METHODS: Final = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH})
"""Methods that must carry ``Content-Type: application/json``. DELETE need not: a browser sends
it cross-site only after a CORS preflight, which this server never answers with consent."""


def own_hosts(request: web.Request) -> frozenset[str]:
    """The ``Host`` values this server answers to on the connection ``request`` came in on.

    Loopback names, the address the connection reached, and the names the app was given, each
    with the port the connection reached (bare too on port 80).
    """
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return frozenset()
    address, port = str(sockname[0]), int(sockname[1])
    names = {*LOOPBACK_NAMES, f"[{address}]" if ":" in address else address}
    names |= {f"[{h}]" if ":" in h and not h.startswith("[") else h for h in request.app[HOSTS_KEY]}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return frozenset(hosts)


@web.middleware
async def browser_guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuse what only a web page would send: a foreign Host or Origin, a non-JSON change."""
    hosts = own_hosts(request)
    host = request.headers.get(hdrs.HOST, "").strip().lower()
    if host not in hosts:
        return error(
            421,
            HTTP_CODES[421],
            f"this server does not answer to Host {host!r:.80}; use http://127.0.0.1 or"
            " http://localhost with its port",
        )
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and origin.strip().lower() not in {f"http://{h}" for h in hosts}:
        return error(
            403,
            "foreign_origin",
            f"requests from web pages of other sites are refused (Origin {origin!r:.80})",
        )
    routed = request.match_info.http_exception is None  # else: 404 or 405 says more
    if routed and request.method in JSON_METHODS and request.content_type != "application/json":
        return error(
            415,
            HTTP_CODES[415],
            f"send {request.method} requests with Content-Type: application/json"
            f" (not {request.content_type!r:.60}), even without a body",
        )
    return await handler(request)


PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)
"""Scripts and styles from this server's files only (no inline, no eval), nothing from another
host, never inside a frame."""


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Before any answer's headers leave (streams too): the page's policy, no sniffing, no
    framing, no referrer, and no reading of these answers by another site's page."""
    headers = response.headers
    headers.setdefault(hdrs.CONTENT_SECURITY_POLICY, PAGE_CSP)
    headers[hdrs.X_CONTENT_TYPE_OPTIONS] = "nosniff"
    headers[hdrs.X_FRAME_OPTIONS] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
