"""The middleware: every failure becomes a JSON error with a fitting status."""

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
)
from tuiapp.server.common import error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

__all__ = ["HTTP_CODES", "error_middleware"]

log = logging.getLogger("tuiapp.server")

_STATUS_OF: Final[tuple[tuple[type[TuiappError], int], ...]] = (
    (NotFoundError, 404),
    (InvalidRequestError, 400),
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
)
HTTP_CODES: Final[Mapping[int, str]] = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}
"""The error code of a status aiohttp itself answers with."""


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
        challenge: dict[str, str] = {hdrs.WWW_AUTHENTICATE: "Bearer"}
        headers = challenge if status == 401 else None
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
