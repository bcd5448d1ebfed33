"""The web page's server side: its files and headers, the session cookie, thumbnails, and stored
files served so that they cannot run script in the page's origin."""

from __future__ import annotations

import gzip
import io
import re
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from tests import images, videos
from tests.serverkit import JSON_TYPE, photos, serve_picsum, wait_until_finished
from tuiapp import sources as registry
from tuiapp.jobs import JobSpec
from tuiapp.server import create_app
from tuiapp.server.middleware import PAGE_CSP

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pytest_aiohttp import AiohttpClient

    from tests.conftest import EngineFactory
    from tests.replay import ReplayServer
    from tests.serverkit import Client
    from tuiapp.engine import Engine


pytestmark = pytest.mark.usefixtures("responses_conform")


async def client_of(aiohttp_client: AiohttpClient, engine: Engine) -> Client:
    # No cookie jar: each test says which cookie a request carries.
    return await aiohttp_client(create_app(engine), cookie_jar=aiohttp.DummyCookieJar())


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, engine: Engine) -> Client:
    return await client_of(aiohttp_client, engine)


def own_origin(client: Client) -> str:
    return str(client.make_url("")).rstrip("/")


async def run(client: Client, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    resp = await client.post("/api/jobs", json=body, headers=headers)
    assert resp.status == 202, await resp.text()
    return await wait_until_finished(client, (await resp.json())["href"], headers)


async def assets_of(client: Client, job_id: int, **headers: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/assets?job_id={job_id}", headers=headers)
    assets: list[dict[str, Any]] = (await resp.json())["assets"]
    return assets


# --- the page and its headers ----------------------------------------------------------------


def csp_of(resp: aiohttp.ClientResponse) -> dict[str, str]:
    policy = resp.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in policy.split(";") if d.strip()}


async def test_the_page_and_its_files_carry_a_policy_without_inline_script(client: Client) -> None:
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    names = re.findall(r'(?:src|href)="/static/([\w.-]+)"', page)
    assert "app.js" in names and "style.css" in names
    assert "<script>" not in page and " on" not in page.split("<body>")[1].split("<dialog")[0]
    for path in ["/", *(f"/static/{n}" for n in names), "/api/health", "/api/me"]:
        resp = await client.get(path)
        assert resp.status == 200, path
        directives = csp_of(resp)
        assert directives["script-src"] == "script-src 'self'", path
        assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
        assert "unsafe-eval" not in resp.headers["Content-Security-Policy"]
        assert directives["frame-ancestors"] == "frame-ancestors 'none'"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
    assert (await client.get("/static/app.js")).content_type == "text/javascript"


async def test_an_event_stream_carries_the_headers_too(client: Client) -> None:
    async with client.get("/api/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Security-Policy"] == PAGE_CSP
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name", ["nothing.js", "..%2Fapp.py", "%2E%2E%2F%2E%2E%2Fconfig.py", "index.html%00.js"]
)
async def test_only_the_pages_own_files_are_served(client: Client, name: str) -> None:
    resp = await client.get(f"/static/{name}")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_the_first_load_is_under_100_kb_and_revalidates_with_an_etag(client: Client) -> None:
    page = await client.get("/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    raw = await page.read()
    assert page.headers["Content-Encoding"] == "gzip"
    total = len(raw)
    names = re.findall(r'(?:src|href)="/static/([\w.-]+)"', gzip.decompress(raw).decode())
    for name in names:
        resp = await client.get(
            f"/static/{name}", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        )
        total += len(await resp.read())
        again = await client.get(f"/static/{name}", headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status == 304
    assert total < 100_000, total  # the API's own answers (me, sources) add a few KB


# --- sign-in: the session cookie ---------------------------------------------------------------


@pytest.fixture
async def guarded(engine_factory: EngineFactory, replay: ReplayServer) -> Engine:
    return await engine_factory(
        allow_guests=False, base_urls={name: replay.url() for name in registry.names()}
    )


async def sign_in(client: Client, token: str) -> str:
    resp = await client.post("/api/session", json={"token": token})
    assert resp.status == 200, await resp.text()
    cookie = resp.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "SameSite=Strict" in cookie
    key = cookie.split(";")[0].split("=", 1)[1]
    assert len(key) >= 40
    return key


async def test_a_token_becomes_a_session_cookie_that_stands_for_the_user(
    aiohttp_client: AiohttpClient, guarded: Engine
) -> None:
    client = await client_of(aiohttp_client, guarded)
    user, token = await guarded.create_user("ada")
    assert (await client.get("/api/me")).status == 401
    key = await sign_in(client, token)
    me = await client.get("/api/me", headers={"Cookie": f"tuiapp_session={key}"})
    assert (await me.json())["user"]["name"] == "ada"
    assert key not in str(await guarded.list_users())  # only its hash is kept

    wrong = await client.post("/api/session", json={"token": "nope"})
    assert wrong.status == 401 and "Set-Cookie" not in wrong.headers
    empty = await client.post("/api/session", json={"token": ""})
    assert empty.status == 400
    odd = await client.post("/api/session", json={"token": "caf\u00e9"})
    assert odd.status == 401
    assert user.id


async def test_a_change_carried_by_the_cookie_is_taken_only_from_the_pages_origin(
    aiohttp_client: AiohttpClient, guarded: Engine, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    client = await client_of(aiohttp_client, guarded)
    _, token = await guarded.create_user("ada")
    cookie = {"Cookie": f"tuiapp_session={await sign_in(client, token)}"}
    job = {"query": "x", "sources": ["picsum"], "count": 1}

    bare = await client.post("/api/jobs", json=job, headers=cookie)
    assert bare.status == 403
    assert "this server's page" in (await bare.json())["error"]["message"]
    foreign = await client.post(
        "/api/jobs", json=job, headers={**cookie, "Origin": "http://127.0.0.1:1"}
    )
    assert foreign.status == 403
    assert (await client.get("/api/jobs", headers=cookie)).status == 200  # reading needs none
    assert await guarded.list_jobs((await guarded.user_named("ada")).id) == []

    own = await client.post("/api/jobs", json=job, headers={**cookie, "Origin": own_origin(client)})
    assert own.status == 202
    # A bearer token needs no Origin (the CLI, scripts).
    assert (
        await client.post("/api/jobs", json=job, headers={"Authorization": f"Bearer {token}"})
    ).status == 202


async def test_signing_out_ends_the_session_on_the_server(
    aiohttp_client: AiohttpClient, guarded: Engine
) -> None:
    client = await client_of(aiohttp_client, guarded)
    _, token = await guarded.create_user("ada")
    key = await sign_in(client, token)
    cookie = {"Cookie": f"tuiapp_session={key}"}
    refused = await client.delete("/api/session", headers=cookie)
    assert refused.status == 403  # no Origin: not the page
    assert await guarded.session_user(key) is not None

    out = await client.delete("/api/session", headers={**cookie, "Origin": own_origin(client)})
    assert out.status == 204
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    assert await guarded.session_user(key) is None
    # The same cookie, kept by a copy somewhere, no longer works.
    stale = await client.get("/api/me", headers=cookie)
    assert stale.status == 401
    assert "sign in again" in (await stale.json())["error"]["message"]


async def test_a_stale_cookie_is_a_guest_where_guests_are_allowed(client: Client) -> None:
    me = await client.get("/api/me", headers={"Cookie": "tuiapp_session=ended-long-ago"})
    assert me.status == 200 and (await me.json())["guest"] is True


# --- thumbnails --------------------------------------------------------------------------------


async def test_a_pictures_thumbnail_is_webp_320_px_made_once_and_kept(
    client: Client, replay: ReplayServer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_picsum(replay, {"1": images.jpeg(800, 600, seed=1), "2": images.png(64, 48, seed=2)})
    job = await run(client, {"query": "x", "sources": ["picsum"], "count": 2})
    big, small = sorted(await assets_of(client, job["id"]), key=lambda a: str(a["title"]))

    resp = await client.get(f"{big['href']}/thumbnail")
    assert resp.status == 200 and resp.content_type == "image/webp"
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")
    with Image.open(io.BytesIO(await resp.read())) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (320, 240)
    with Image.open(io.BytesIO(await (await client.get(f"{small['href']}/thumbnail")).read())) as t:
        assert t.size == (64, 48)  # never enlarged

    # Kept: asked again, the hashing process is not asked.
    made = []
    original = engine.thumbnails._hasher or engine.thumbnails._own
    assert original is not None

    async def counting(*args: Any) -> Any:
        made.append(args)
        return None

    monkeypatch.setattr(original, "thumbnail", counting)
    again = await client.get(f"{big['href']}/thumbnail")
    assert again.status == 200 and again.content_type == "image/webp" and made == []
    etag = again.headers["ETag"]
    assert (
        await client.get(f"{big['href']}/thumbnail", headers={"If-None-Match": etag})
    ).status == 304
    # A file deleted with its job takes its thumbnail along.
    assert (await client.delete(f"/api/jobs/{job['id']}")).status == 204
    assert (await client.get(f"{big['href']}/thumbnail")).status == 404
    assert (await engine.integrity_report())["integrity_check"] == "ok"


async def test_a_video_gets_a_placeholder_and_another_users_file_no_thumbnail(
    aiohttp_client: AiohttpClient, engine: Engine, replay: ReplayServer
) -> None:
    client = await client_of(aiohttp_client, engine)

    async def clip(request: web.Request) -> web.StreamResponse:
        return web.Response(body=videos.mp4_bytes(4000), content_type="video/mp4")

    replay.add("/clip.mp4", clip)
    job = await run(client, {"query": replay.url("/clip.mp4"), "count": 1})
    (video,) = await assets_of(client, job["id"])
    assert video["mime"] == "video/mp4"
    resp = await client.get(f"{video['href']}/thumbnail")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert b"<script" not in await resp.read()
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")

    _, token = await engine.create_user("bob")
    other = await client.get(
        f"{video['href']}/thumbnail", headers={"Authorization": f"Bearer {token}"}
    )
    assert other.status == 404
    assert (await client.get("/api/assets/999999/thumbnail")).status == 404
    assert (await client.get("/api/assets/x/thumbnail")).status == 400


# --- stored files cannot run script in the page's origin -------------------------------------

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


async def test_a_stored_svg_is_sandboxed_and_sent_as_a_download(
    client: Client, replay: ReplayServer
) -> None:
    async def svg(request: web.Request) -> web.StreamResponse:
        return web.Response(body=SVG, content_type="image/svg+xml")

    replay.add("/drawing.svg", svg)
    job = await run(client, {"query": replay.url("/drawing.svg"), "count": 1})
    (asset,) = await assets_of(client, job["id"])
    assert asset["mime"] == "image/svg+xml"
    for method in ("GET", "HEAD"):
        resp = await client.request(method, asset["content_href"])
        assert resp.status == 200
        assert csp_of(resp)["sandbox"] == "sandbox"
        assert resp.headers["Content-Disposition"] == "attachment"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    thumb = await client.get(f"{asset['href']}/thumbnail")
    assert thumb.content_type == "image/svg+xml" and await thumb.read() != SVG  # a placeholder


async def test_a_stored_picture_is_shown_inline_but_sandboxed(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    job = await run(client, {"query": "x", "sources": ["picsum"], "count": 1})
    (asset,) = await assets_of(client, job["id"])
    resp = await client.get(asset["content_href"])
    assert "Content-Disposition" not in resp.headers
    assert csp_of(resp)["sandbox"] == "sandbox"
    assert resp.headers["Cross-Origin-Resource-Policy"] == "same-origin"


async def test_a_form_of_another_site_cannot_sign_in(client: Client) -> None:
    resp = await client.post(
        "/api/session",
        data='{"token": "x"}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert resp.status == 403
    resp = await client.post("/api/session", data='{"token": "x"}', headers=JSON_TYPE)
    assert resp.status == 401


async def test_sessions_and_thumbnails_work_on_postgresql(
    postgres_url: str, engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    serve_picsum(replay, {"1": images.jpeg(640, 480, seed=3)})
    engine = await engine_factory(
        database_url=postgres_url, base_urls={name: replay.url() for name in registry.names()}
    )
    user, token = await engine.create_user("ada")
    signed, key = await engine.sign_in(token, 60)
    assert signed.id == user.id and (await engine.session_user(key)) == user
    await engine.sign_out(key)
    assert await engine.session_user(key) is None

    job = await engine.submit(JobSpec(query="x", sources=("picsum",), count=1), user.id)
    await engine.wait(job.id, user.id)
    (asset,) = await engine.list_assets(user.id, job_id=job.id)
    made = await engine.thumbnail(asset.id, user.id)
    assert made is not None and made[1] == "image/webp"
    assert await engine.thumbnail(asset.id, user.id) == made  # kept, read back alike
    with pytest.raises(Exception, match="no asset"):
        await engine.thumbnail(asset.id, None)
    await engine.delete_job(job.id, user.id)
    assert (await engine.integrity_report())["orphan_chunks"] == 0


async def test_the_hashing_process_answers_no_thumbnail_for_garbage_and_goes_on() -> None:
    from tuiapp.engine.hash_process import HashProcess

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    process = HashProcess()
    try:
        garbage = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500
        assert await process.thumbnail(len(garbage), chunks(garbage)) is None
        picture = images.png(1000, 500, seed=9)
        made = await process.thumbnail(len(picture), chunks(picture))
        assert made is not None and made[1:] == (320, 160)
        # Fingerprints still come back in step with the thumbnails around them.
        assert await process.fingerprint(picture) is not None
    finally:
        await process.close()
