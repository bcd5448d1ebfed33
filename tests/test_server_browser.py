"""The API next to a web browser: foreign Hosts, Origins and non-JSON changes are refused.

And hostile input (lone surrogates, deep JSON, non-ASCII tokens, nested options) is a 400 or a
401, never a 500.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.serverkit import JSON_TYPE, photos, serve_picsum
from tuiapp.server import create_app

if TYPE_CHECKING:
    from pytest_aiohttp import AiohttpClient

    from tests.conftest import EngineFactory
    from tests.replay import ReplayServer
    from tests.serverkit import Client
    from tuiapp.engine import Engine


JOB = {"query": "x", "sources": ["picsum"], "count": 1}


pytestmark = pytest.mark.usefixtures("responses_conform")


async def error_of(resp: Any, status: int) -> dict[str, str]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    error: dict[str, str] = (await resp.json())["error"]
    return error


async def jobs_of(client: Client) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = (await (await client.get("/api/jobs")).json())["jobs"]
    return jobs


async def raw_request(client: Client, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send a hand-written HTTP/1.1 request (bytes no HTTP client would send); status and body."""
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        length = f"Content-Length: {len(body)}\r\n".encode()
        writer.write(head + length + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


# --- cross-site requests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_a_job_posted_as_a_form_would_be_is_refused_415(
    client: Client, content_type: str | None
) -> None:
    """What an HTML form or a no-cors fetch can send is never taken as JSON."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    resp = await client.post("/api/jobs", data=json.dumps(JOB).encode(), headers=headers)
    error = await error_of(resp, 415)
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"]
    assert await jobs_of(client) == []


async def test_rerun_and_cancel_need_the_json_content_type_too(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    resp = await client.post("/api/jobs", json=JOB)
    job = await resp.json()
    for action in ("rerun", "cancel"):
        resp = await client.post(f"{job['href']}/{action}", headers={"Content-Type": "text/plain"})
        await error_of(resp, 415)
    assert len(await jobs_of(client)) == 1


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "https://127.0.0.1", "http://localhost:1"]
)
async def test_a_request_from_another_origin_is_refused_403(client: Client, origin: str) -> None:
    resp = await client.post("/api/jobs", json=JOB, headers={"Origin": origin})
    error = await error_of(resp, 403)
    assert error["code"] == "foreign_origin"
    assert (await client.get("/api/jobs", headers={"Origin": origin})).status == 403
    assert await jobs_of(client) == []


async def test_the_servers_own_origin_is_served(client: Client, replay: ReplayServer) -> None:
    serve_picsum(replay, photos(1))
    for name in ("127.0.0.1", "localhost"):
        own = f"http://{name}:{client.port}"
        resp = await client.post("/api/jobs", json=JOB, headers={"Origin": own, "Host": own[7:]})
        assert resp.status == 202, await resp.text()


# --- DNS rebinding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/health",
        "/api/openapi.json",
        "/api/jobs",
        "/api/events",
        "/api/jobs/1/events",
        "/api/assets/1/content",
        "/api/nope",
    ],
)
async def test_a_host_the_server_does_not_answer_to_is_refused_421(
    client: Client, path: str
) -> None:
    for host in ("evil.example", f"evil.example:{client.port}", "127.0.0.1:1", "127.0.0.2"):
        error = await error_of(await client.get(path, headers={"Host": host}), 421)
        assert error["code"] == "misdirected_request"


async def test_loopback_names_with_the_servers_port_are_served(client: Client) -> None:
    for name in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]"):
        resp = await client.get("/api/health", headers={"Host": f"{name}:{client.port}"})
        assert resp.status == 200, name


async def test_host_names_given_to_the_app_are_served(
    aiohttp_client: AiohttpClient, engine: Engine
) -> None:
    client = await aiohttp_client(create_app(engine, hosts=["media.lan"]))
    resp = await client.get("/api/health", headers={"Host": f"media.lan:{client.port}"})
    assert resp.status == 200
    resp = await client.get("/api/health", headers={"Host": f"other.lan:{client.port}"})
    assert resp.status == 421


async def test_a_request_without_a_host_is_refused(client: Client) -> None:
    status, body = await raw_request(client, b"GET /api/health HTTP/1.0\r\n")
    assert status == 421
    assert json.loads(body)["error"]["code"] == "misdirected_request"


# --- bad input is a 400 or a 401, never a 500 ---------------------------------------------------


async def test_a_query_with_a_lone_surrogate_is_a_400(client: Client) -> None:
    body = b'{"query": "\\ud800", "sources": ["picsum"]}'
    error = await error_of(await client.post("/api/jobs", data=body, headers=JSON_TYPE), 400)
    assert "not valid JSON" in error["message"]
    assert await jobs_of(client) == []


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
async def test_json_nested_30000_deep_is_a_400(
    aiohttp_client: AiohttpClient, engine: Engine, opener: bytes
) -> None:
    # A body limit large enough that the parser, not the limit, is what refuses these.
    client = await aiohttp_client(create_app(engine, client_max_size=1_000_000))
    closer = b"]" if opener == b"[" else b"}"
    nested = opener * 30_000 + b"1" + closer * 30_000
    for body in (
        b'{"query": "x", "sources": ["picsum"], "options": {"a": ' + nested + b"}}",
        nested,
    ):
        resp = await client.post("/api/jobs", data=body, headers=JSON_TYPE)
        assert "not valid JSON" in (await error_of(resp, 400))["message"]
    assert await jobs_of(client) == []


async def test_cancel_with_a_deeply_nested_body_is_a_400(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    job = await (await client.post("/api/jobs", json=JOB)).json()
    nested = b"[" * 30_000 + b"]" * 30_000
    resp = await client.post(f"{job['href']}/cancel", data=nested, headers=JSON_TYPE)
    assert "not valid JSON" in (await error_of(resp, 400))["message"]


async def test_an_authorization_header_with_non_ascii_bytes_is_a_401(client: Client) -> None:
    for token in (b"Bearer caf\xc3\xa9", b"Bearer \xff\xfe", b"Bearer \xe2\x80\xae123"):
        head = b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n" % (
            client.port or 0,
            token,
        )
        status, body = await raw_request(client, head)
        assert status == 401, body
        assert json.loads(body)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"width": [1, 2]}, "option 'width' must be a string, a number"),
        ({"width": {"px": 3}}, "option 'width' must be"),
        ([["width", 3]], "'options' must be a JSON object"),
        ("width=3", "'options' must be a JSON object"),
    ],
)
async def test_options_that_are_not_json_scalars_are_a_400_naming_the_option(
    client: Client, options: Any, problem: str
) -> None:
    resp = await client.post("/api/jobs", json={**JOB, "options": options})
    error = await error_of(resp, 400)
    assert problem in error["message"]
    assert await jobs_of(client) == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::", "my-laptop.lan"])
async def test_serving_beyond_loopback_while_guests_are_allowed_is_refused_before_binding(
    engine_factory: EngineFactory, host: str
) -> None:
    from tuiapp.errors import SettingsError
    from tuiapp.server import start_server

    engine = await engine_factory(allow_guests=True)
    with pytest.raises(SettingsError, match="TUIAPP_ALLOW_GUESTS=false"):
        await start_server(engine, host, 0)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_names_count_as_loopback(host: str) -> None:
    from tuiapp.server.app import _loopback

    assert _loopback(host)


async def test_the_allowed_host_names_setting_reaches_the_started_api(
    engine_factory: EngineFactory,
) -> None:
    import aiohttp

    from tuiapp.cli import _start_api

    engine = await engine_factory()
    server, url, error = await _start_api(engine, "127.0.0.1", 0, ("nas.lan",))
    assert server is not None and url is not None and error is None
    port = url.rsplit(":", 1)[1]
    try:
        async with aiohttp.ClientSession() as session:
            for host, status in ((f"nas.lan:{port}", 200), (f"evil.example:{port}", 421)):
                async with session.get(f"{url}/api/health", headers={"Host": host}) as resp:
                    assert resp.status == status, host
    finally:
        await server.close()
    refused = await _start_api(engine, "0.0.0.0", 0)
    assert refused[0] is None and "TUIAPP_ALLOW_GUESTS=false" in (refused[2] or "")
