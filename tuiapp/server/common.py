"""What every handler shares: the application keys, request parsing, the caller, error replies.

The caller is looked up once per request, by :func:`~tuiapp.server.middleware.auth_middleware`
before the handler runs, unless the route table marks the route public; :func:`user` is that one
lookup, and handlers read its answer with :func:`caller` or :func:`owner`.

Parsing here turns a bad path, query or body into :class:`~tuiapp.errors.InvalidRequestError`
(400) naming what is wrong; request bodies are checked by the vocabulary's own types
(:func:`tuiapp.api_types.parse_body`), never field by field by hand.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

from aiohttp import hdrs, web
from msgspec import Meta

from tuiapp.api_types import parse_body
from tuiapp.errors import ForbiddenError, InvalidRequestError, NotFoundError, UnauthorizedError
from tuiapp.server.routing import Param
from tuiapp.server.shapes import error_body

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tuiapp.engine import Engine, Subscription
    from tuiapp.jobs import UserInfo

__all__ = [
    "BACKLOG_KEY",
    "CALLER_KEY",
    "ENGINE_KEY",
    "HOSTS_KEY",
    "MAX_ID",
    "MAX_PAGE",
    "OPENAPI_KEY",
    "PAGING",
    "PING_KEY",
    "PUBLIC_KEY",
    "SESSION_COOKIE",
    "STREAMS_KEY",
    "Id",
    "caller",
    "error",
    "id_param",
    "optional_int",
    "owner",
    "paging",
    "path_id",
    "read_body",
    "user",
    "whole",
]

T = TypeVar("T")

MAX_ID: Final = 2**53 - 1
"""Largest id or offset the API takes (the largest integer every JSON client reads exactly)."""
MAX_PAGE: Final = 500
"""Largest ``limit`` of a list."""
DEFAULT_PAGE: Final = 50

# --- application keys (all of them, in one place) ---------------------------------------------

ENGINE_KEY: Final[web.AppKey[Engine]] = web.AppKey("tuiapp.engine")
STREAMS_KEY: Final[web.AppKey[set[Subscription]]] = web.AppKey("tuiapp.streams")
"""Subscriptions of open event streams, closed at shutdown so no stream holds the server up."""
PING_KEY: Final[web.AppKey[float]] = web.AppKey("tuiapp.sse_ping")
"""Seconds between keep-alive comments on event streams."""
BACKLOG_KEY: Final[web.AppKey[int]] = web.AppKey("tuiapp.sse_backlog")
"""Lifecycle events an event stream may fall behind by before it is cut off (``overflow``)."""
OPENAPI_KEY: Final[web.AppKey[Callable[[], dict[str, Any]]]] = web.AppKey("tuiapp.openapi")
"""Builds (once) the OpenAPI document of this application."""
HOSTS_KEY: Final[web.AppKey[frozenset[str]]] = web.AppKey("tuiapp.hosts")
"""Host names this server answers to besides the loopback names and the address it is bound to."""
PUBLIC_KEY: Final[web.AppKey[frozenset[tuple[str, str]]]] = web.AppKey("tuiapp.public")
"""(method, path) of the routes the route table marks public: every other route needs a caller."""
CALLER_KEY: Final[web.RequestKey[UserInfo | None]] = web.RequestKey("tuiapp.caller")
"""The user a request acts as (None: guest), set before the handler runs."""


def error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The JSON error reply every failure gets: ``{"error": {"code", "message"}}``."""
    return web.json_response(error_body(code, message), status=status, headers=headers)


# --- path and query -----------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")

Id = Annotated[int, Meta(ge=1, le=MAX_ID)]
"""An id in a path or a query."""


def id_param(what: str) -> Param:
    return Param("id", "path", Id, f"The {what} id (a whole number; anything else answers 400).")


PAGING: Final = (
    Param("limit", "query", Annotated[int, Meta(ge=1, le=MAX_PAGE)], "How many to return.", 50),
    Param("offset", "query", Annotated[int, Meta(ge=0, le=MAX_ID)], "How many to skip.", 0),
)


def whole(raw: str) -> int | None:
    """``raw`` as a non-negative integer, None if it is not written as one."""
    if not _DIGITS.fullmatch(raw):
        return None
    # Longer strings are above every bound we use; int() of thousands of digits is refused.
    return int(raw) if len(raw) <= 18 else 10**18


def path_id(request: web.Request, what: str) -> int:
    raw = request.match_info["id"]
    value = whole(raw)
    if value is None:
        raise InvalidRequestError(f"a {what} id is a whole number, not {raw!r:.40}")
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no {what} {raw}")
    return value


def optional_int(request: web.Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    value = whole(raw.strip())
    if value is None or not low <= value <= high:
        raise InvalidRequestError(
            f"{name} must be a whole number from {low} to {high}, not {raw!r:.40}"
        )
    return value


def paging(request: web.Request) -> tuple[int, int]:
    limit = optional_int(request, "limit", 1, MAX_PAGE)
    offset = optional_int(request, "offset", 0, MAX_ID)
    return (DEFAULT_PAGE if limit is None else limit, 0 if offset is None else offset)


async def read_body(request: web.Request, kind: type[T], *, optional: bool = False) -> T:
    """The request body as a ``kind`` (a request type of :mod:`tuiapp.api_types`).

    An empty ``optional`` body is ``kind()``, every field at its default.
    """
    raw = await request.read()  # raises 413 past client_max_size
    if optional and not raw.strip():
        return kind()
    return parse_body(kind, raw)


# --- the caller ---------------------------------------------------------------------------------


SESSION_COOKIE: Final = "tuiapp_session"
"""The web page's session cookie (HttpOnly, SameSite=Strict): a key whose hash the database
keeps, standing for the user who signed in with a token."""
_SAFE_METHODS: Final = frozenset({hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_OPTIONS})


async def user(request: web.Request) -> UserInfo | None:
    """The user the request's credentials name (a bearer token, else the session cookie); None
    for a guest. The one place a caller is looked up (the auth middleware calls it; handlers read
    :func:`caller`).

    A change carried by the cookie must name its ``Origin``: the browser guard has refused any
    foreign one, so it comes from this server's own page.

    Raises:
        UnauthorizedError: a malformed or wrong token, or no token while guests are off.
        ForbiddenError: a change carried by the cookie without an ``Origin``.
    """
    header = request.headers.get(hdrs.AUTHORIZATION)
    token = None
    key = request.cookies.get(SESSION_COOKIE)
    if header is None and key:
        if request.method not in _SAFE_METHODS and hdrs.ORIGIN not in request.headers:
            raise ForbiddenError(
                "a change sent with the session cookie must come from this server's page"
                " (it names its Origin)"
            )
        engine = request.app[ENGINE_KEY]
        signed_in = await engine.session_user(key) if key.isascii() and len(key) < 200 else None
        if signed_in is not None:
            return signed_in
        if not engine.settings.allow_guests:
            raise UnauthorizedError("the session has ended; sign in again")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        token = value.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("the Authorization header must be 'Bearer <token>'")
        if not (token.isascii() and token.isprintable()):
            # Tokens are printable ASCII; other bytes arrive as surrogates and match no token.
            raise UnauthorizedError("that API token is not valid")
    return await request.app[ENGINE_KEY].authenticate(token)


def caller(request: web.Request) -> UserInfo | None:
    """The user the request acts as (None: guest), as the auth middleware found it.

    Raises:
        RuntimeError: the route is public, so nobody was looked up (a bug in the route table).
    """
    if CALLER_KEY not in request:
        raise RuntimeError(f"{request.method} {request.path} is public: it has no caller")
    return request[CALLER_KEY]


async def owner(request: web.Request) -> int | None:
    """The id of the user the request acts as (None: guest); nothing is looked up here.

    Awaitable, as handlers have always called it.
    """
    found = caller(request)
    return None if found is None else found.id
