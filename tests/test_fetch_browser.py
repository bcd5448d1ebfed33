"""The browser transport: a browser's ClientHello, its headers, the address policy on every hop.

Every connection stays on 127.0.0.1: names resolve through a stub resolver, and a name that
resolves to a refused address is refused before any packet leaves.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.hello import listening
from tests.replay import Reply
from tests.sourcekit import collect, probe
from tuiapp import sources as registry
from tuiapp.config import load_settings
from tuiapp.errors import BlockedAddressError, FormatChangedError, NetworkError, SourceError
from tuiapp.fetch import MAX_PAGE_SIZE, Fetcher
from tuiapp.fetch.browser import handshake_available
from tuiapp.sources._common import ANDROID_CHROME, DESKTOP_CHROME
from tuiapp.sources.base import Browser

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp.test_utils import TestServer

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer

SCRAPED = ("google_images", "duckduckgo_images", "yandex_images", "yahoo_images", "bing_images")


class StubResolver(AbstractResolver):
    """Answers from a table; records what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"{host} not in the stub table")
        return [
            {"hostname": host, "host": a, "port": port, "family": 2, "proto": 6, "flags": 0}
            for a in self.table[host]
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("name", SCRAPED)
async def test_each_scraped_source_sends_a_browsers_client_hello(
    name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointed at a TLS listener by its base URL setting, the source's first request shows a
    browser's ClientHello (GREASE, certificate compression, ALPS, h2), not OpenSSL's."""
    from tuiapp.sources import yandex_images

    monkeypatch.setattr(yandex_images, "PAUSE", yandex_images.CaptchaPause())  # no pause left
    async with listening() as listener:
        env = {
            "TUIAPP_DATA_DIR": str(tmp_path),
            f"TUIAPP_{name.upper()}_BASE_URL": listener.url,
            "REQUEST_TIMEOUT": "3",
            "TUIAPP_RETRIES": "0",
        }
        settings = load_settings(env, env_file=tmp_path / "none.env")
        cls = registry.get(name)
        async with probe(settings, settings.base_urls[name]) as p:
            with pytest.raises(SourceError):  # the listener hangs up after the hello
                await collect(cls(), p.ctx, "red panda", limit=1)
    assert listener.hellos, "no ClientHello reached the listener"
    for hello in listener.hellos:
        assert hello.grease
        assert hello.looks_like_chrome(), hello
    assert cls.browser is not None


async def test_the_plain_client_sends_openssls_hello_which_the_listener_tells_apart(
    make_settings: MakeSettings,
) -> None:
    async with listening() as listener:
        fetcher = Fetcher(make_settings(retries=0), allow=[listener.url])
        await fetcher.start()
        try:
            with pytest.raises(NetworkError):
                await fetcher.get(listener.url + "/")
        finally:
            await fetcher.close()
    (hello,) = listener.hellos
    assert not hello.grease and not hello.looks_like_chrome()


async def test_the_browser_speaks_with_its_own_user_agent_and_headers(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/page", Reply(b"<html></html>", 200, {}, "text/html"))
    fetcher = Fetcher(make_settings(user_agent="Python/TestClient"))
    await fetcher.start()
    try:
        await fetcher.get(
            replay.url("/page"),
            headers={"User-Agent": "Spoofed/1.0", "Referer": "https://r.example/"},
            browser=DESKTOP_CHROME,
        )
        await fetcher.get(replay.url("/page"), browser=DESKTOP_CHROME.script())
        await fetcher.get(replay.url("/page"), browser=ANDROID_CHROME)
        await fetcher.get(replay.url("/page"))
    finally:
        await fetcher.close()
    page, script, android, plain = replay.hits("/page")
    assert "Chrome/152." in page.headers["User-Agent"]  # neither the setting nor the source's
    assert page.headers["Referer"] == "https://r.example/"
    assert page.headers["Sec-Fetch-Mode"] == "navigate"
    assert page.headers["Sec-CH-UA-Mobile"] == "?0"
    assert script.headers["User-Agent"] == page.headers["User-Agent"]
    assert script.headers["Sec-Fetch-Mode"] == "cors"
    assert "Upgrade-Insecure-Requests" not in script.headers
    assert "Android" in android.headers["User-Agent"]
    assert "Upgrade" not in page.headers  # plain http goes out as HTTP/1.1, no h2c upgrade
    assert plain.headers["User-Agent"] == "Python/TestClient"


async def test_a_name_is_resolved_once_and_curl_is_pinned_to_the_checked_address(
    aiohttp_server: Callable[..., Awaitable[TestServer]], make_settings: MakeSettings
) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.host)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    server = await aiohttp_server(app, host="127.0.0.1")
    origin = f"http://mirror.example:{server.port}"
    resolver = StubResolver({"mirror.example": ["127.0.0.1"]})
    fetcher = Fetcher(make_settings(), allow=[origin], resolver=resolver)
    await fetcher.start()
    try:
        for _ in range(2):
            page = await fetcher.get(origin + "/", browser=DESKTOP_CHROME)
            assert page.body == b"ok"
    finally:
        await fetcher.close()
    # mirror.example exists nowhere but in the stub: curl connected where the policy said.
    assert seen == [f"mirror.example:{server.port}"] * 2
    assert resolver.lookups == ["mirror.example"]


async def test_a_name_resolving_to_a_private_address_is_refused_before_curl_connects(
    make_settings: MakeSettings,
) -> None:
    resolver = StubResolver({"evil.example": ["10.1.2.3"], "meta.example": ["169.254.169.254"]})
    fetcher = Fetcher(make_settings(), resolver=resolver)
    await fetcher.start()
    try:
        with pytest.raises(BlockedAddressError, match=r"10\.1\.2\.3 is a private address"):
            await fetcher.get("http://evil.example/", browser=DESKTOP_CHROME)
        with pytest.raises(BlockedAddressError, match="link-local"):
            await fetcher.get("https://meta.example/latest", browser=DESKTOP_CHROME)
        with pytest.raises(BlockedAddressError, match="loopback"):
            await fetcher.get("http://127.0.0.1:9/", browser=DESKTOP_CHROME)
    finally:
        await fetcher.close()
    assert resolver.lookups == ["evil.example", "meta.example"]


async def test_every_redirect_hop_is_checked_before_it_is_followed(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    async def to(location: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(location)

        return handler

    replay.add("/hop", await to("/landing"))
    replay.add("/landing", Reply(b"landed", 200, {}, "text/plain"))
    replay.add("/private", await to("http://evil.example/steal"))
    replay.add("/file", await to("file:///etc/passwd"))
    replay.add("/loop", await to("/loop"))
    resolver = StubResolver({"evil.example": ["192.168.1.10"]})
    fetcher = Fetcher(make_settings(), resolver=resolver)
    await fetcher.start()
    try:
        page = await fetcher.get(replay.url("/hop"), browser=DESKTOP_CHROME)
        assert page.body == b"landed" and page.url.endswith("/landing")
        with pytest.raises(BlockedAddressError, match=r"192\.168\.1\.10"):
            await fetcher.get(replay.url("/private"), browser=DESKTOP_CHROME)
        with pytest.raises(BlockedAddressError, match="non-http"):
            await fetcher.get(replay.url("/file"), browser=DESKTOP_CHROME)
        with pytest.raises(NetworkError, match="too many redirects"):
            await fetcher.get(replay.url("/loop"), browser=DESKTOP_CHROME)
    finally:
        await fetcher.close()
    assert resolver.lookups == ["evil.example"]


async def test_a_page_larger_than_the_cap_is_not_read(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        chunk = b"x" * 65536
        for _ in range(MAX_PAGE_SIZE // len(chunk) + 2):
            await resp.write(chunk)
        return resp

    replay.add("/huge", huge)
    fetcher = Fetcher(make_settings())
    await fetcher.start()
    try:
        with pytest.raises(FormatChangedError, match="for a page; not read"):
            await fetcher.get(replay.url("/huge"), browser=DESKTOP_CHROME)
    finally:
        await fetcher.close()


async def test_an_unknown_target_fails_with_a_sentence_not_a_plain_handshake(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/page", Reply(b"ok", 200, {}, "text/plain"))
    assert not handshake_available("netscape4")
    assert handshake_available("chrome152") and handshake_available("chrome99_android")
    fetcher = Fetcher(make_settings())
    await fetcher.start()
    try:
        with pytest.raises(SourceError, match="cannot ask as netscape4"):
            await fetcher.get(replay.url("/page"), browser=Browser("netscape4"))
    finally:
        await fetcher.close()
    assert replay.hits("/page") == []


def test_importing_fetch_sources_and_engine_does_not_load_curl_cffi() -> None:
    code = (
        "import sys, tuiapp.fetch, tuiapp.sources, tuiapp.engine\n"
        "from tuiapp import sources\n"
        "sources.all_sources()\n"
        "from tuiapp.fetch.browser import handshake_available\n"
        "assert handshake_available('chrome152')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'curl_cffi'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


async def test_a_connection_lost_before_the_answer_is_asked_again(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    calls: list[int] = []

    async def flaky(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            assert request.transport is not None
            request.transport.close()  # nothing sent: curl's "empty reply"
        return web.Response(text="second time")

    replay.add("/flaky", flaky)
    fetcher = Fetcher(make_settings())
    await fetcher.start()
    try:
        page = await fetcher.get(replay.url("/flaky"), browser=DESKTOP_CHROME)
    finally:
        await fetcher.close()
    assert page.body == b"second time" and len(calls) == 2


async def test_curl_sessions_are_kept_per_pinned_address_and_bounded(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    make_settings: MakeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tuiapp.fetch import browser

    monkeypatch.setattr(browser, "MAX_SESSIONS", 2)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    server = await aiohttp_server(app, host="127.0.0.1")
    names = ["a.example", "b.example", "c.example"]
    origins = [f"http://{n}:{server.port}" for n in names]
    resolver = StubResolver({n: ["127.0.0.1"] for n in names})
    fetcher = Fetcher(make_settings(), allow=origins, resolver=resolver)
    await fetcher.start()
    try:
        for origin in [*origins, origins[2]]:
            assert (await fetcher.get(origin + "/", browser=DESKTOP_CHROME)).body == b"ok"
        transport = fetcher._browser
        assert transport is not None
        kept = list(transport._sessions)
    finally:
        await fetcher.close()
    assert kept == [
        (f"b.example:{server.port}:127.0.0.1",),
        (f"c.example:{server.port}:127.0.0.1",),
    ]
