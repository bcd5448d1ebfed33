"""The web page: ``/`` and its static files, and the session it signs in with.

The page is a client of this API like any other (the same JSON endpoints and event streams);
its files live in ``tuiapp/server/static/`` (no build step, nothing from another host) and are
read once, with their ETag and a gzip copy. Every answer carries the page's security headers
(:func:`tuiapp.server.middleware.security_headers`).

Sign-in exchanges an API token for a session cookie: ``HttpOnly`` (no script reads it),
``SameSite=Strict`` (no other site's page sends it), ended on the server by signing out.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from typing import Final

from aiohttp import hdrs, web

from tuiapp.api_types import SignInRequest
from tuiapp.errors import ForbiddenError, NotFoundError, UnauthorizedError
from tuiapp.server.common import ENGINE_KEY, SESSION_COOKIE, read_body
from tuiapp.server.ranges import etag_matches
from tuiapp.server.routing import Param, Reply, RouteTable
from tuiapp.server.shapes import Me

__all__ = ["SESSION_LIFETIME", "static_file", "table"]

table = RouteTable()

SESSION_LIFETIME: Final = 30 * 24 * 3600.0
"""Seconds a sign-in lasts (signing out ends it sooner)."""
_TYPES: Final = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One of the page's files, as served."""

    mime: str
    body: bytes
    gzipped: bytes
    etag: str


@functools.cache
def _files() -> dict[str, StaticFile]:
    folder = resources.files("tuiapp.server") / "static"
    out: dict[str, StaticFile] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if not entry.is_file() or suffix not in _TYPES:
            continue
        body = entry.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:32]
        mime = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0] or "text/plain"
        out[entry.name] = StaticFile(mime, body, gzip.compress(body, 9, mtime=0), f'"{digest}"')
    return out


def static_file(name: str) -> StaticFile | None:
    """One of the page's files by name (only the files of the folder: no path is followed)."""
    return _files().get(name)


def _send(request: web.Request, name: str) -> web.Response:
    found = static_file(name)
    if found is None:
        raise NotFoundError(f"no page file {name!r:.60}")
    headers = {hdrs.ETAG: found.etag, hdrs.CACHE_CONTROL: "no-cache", hdrs.VARY: "Accept-Encoding"}
    match = request.headers.get(hdrs.IF_NONE_MATCH)
    if match is not None and etag_matches(match, found.etag):
        return web.Response(status=304, headers=headers)
    body = found.body
    if "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, "").lower():
        body = found.gzipped
        headers[hdrs.CONTENT_ENCODING] = "gzip"
    charset = "utf-8" if found.mime.startswith("text/") or found.mime.endswith("+xml") else None
    return web.Response(body=body, content_type=found.mime, charset=charset, headers=headers)


_PAGE_REPLIES: Final = {
    200: Reply("The page.", media="text/html", headers={"ETag": str}),
    304: Reply("`If-None-Match` matched: the client's copy is current."),
}


@table.route(
    "GET",
    "/",
    name="page",
    summary="The web page (a client of this API)",
    public=True,
    replies=_PAGE_REPLIES,
)
async def page(request: web.Request) -> web.Response:
    return _send(request, "index.html")


@table.route(
    "GET",
    "/static/{name}",
    name="pageFile",
    summary="One of the web page's files (script, style sheet, icon)",
    params=(Param("name", "path", str, "The file's name."),),
    public=True,
    replies={
        200: Reply("The file.", media="*/*", headers={"ETag": str}),
        304: _PAGE_REPLIES[304],
    },
    errors=(404,),
)
async def page_file(request: web.Request) -> web.Response:
    return _send(request, request.match_info["name"])


def _cookie(resp: web.Response, value: str, max_age: int) -> None:
    resp.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Strict",
    )


@table.route(
    "POST",
    "/api/session",
    name="signIn",
    summary="Sign the web page in: an API token for a session cookie",
    description="Sets the `tuiapp_session` cookie (HttpOnly, SameSite=Strict), which then stands"
    " for the token on this server's own page. A change sent with the cookie must carry the"
    " page's `Origin`.",
    body=SignInRequest,
    public=True,
    replies={200: Reply("Signed in.", Me, headers={"Set-Cookie": str})},
    errors=(401, 503),
)
async def sign_in(request: web.Request) -> web.Response:
    token = (await read_body(request, SignInRequest)).token.strip()
    if not (token.isascii() and token.isprintable()):
        raise UnauthorizedError("that API token is not valid")
    signed, key = await request.app[ENGINE_KEY].sign_in(token, SESSION_LIFETIME)
    resp = web.json_response({"guest": False, "user": signed.to_dict()})
    _cookie(resp, key, int(SESSION_LIFETIME))
    return resp


@table.route(
    "DELETE",
    "/api/session",
    name="signOut",
    summary="Sign the web page out: its session ends on the server",
    public=True,
    replies={204: Reply("Signed out (or was not signed in); the cookie is cleared.")},
    errors=(503,),
)
async def sign_out(request: web.Request) -> web.Response:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        if hdrs.ORIGIN not in request.headers:  # a foreign one was refused already
            raise ForbiddenError("signing out is done from this server's page")
        if key.isascii():
            await request.app[ENGINE_KEY].sign_out(key)
    resp = web.Response(status=204)
    _cookie(resp, "", 0)
    return resp
