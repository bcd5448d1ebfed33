"""Proxies: which one a request takes, and that every request of a job goes through it.

A recording proxy on loopback (``tests/proxy_server.py``) stands in for the user's; origins are
loopback servers. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.hello import listening
from tests.images import jpeg
from tests.proxy_server import recording_proxy
from tests.replay import Reply
from tests.sourcekit import collect, fixture_text, probe, rebased
from tuiapp.config import load_settings
from tuiapp.engine.doctor import reach, run_checks
from tuiapp.errors import ProxyUnreachableError, SettingsError, SourceError
from tuiapp.fetch import Fetcher, acting_for
from tuiapp.proxies import ProxyPlan, bypassed, parse_proxy
from tuiapp.sources._common import DESKTOP_CHROME
from tuiapp.sources.bing_images import BingImagesSource

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- which proxy ---------------------------------------------------------------------------------


def test_a_proxy_url_is_parsed_and_its_password_never_shown() -> None:
    proxy = parse_proxy("socks5h://me:s%3Acret@Proxy.Example:1081")
    assert (proxy.scheme, proxy.host, proxy.port) == ("socks5h", "proxy.example", 1081)
    assert (proxy.username, proxy.password) == ("me", "s:cret")
    assert proxy.shown() == "socks5h://me:***@proxy.example:1081"
    assert proxy.url == "socks5h://me:s%3Acret@proxy.example:1081"
    assert proxy.remote_names and not parse_proxy("socks5://h:1").remote_names
    assert parse_proxy("corp-proxy:3128").bare_url == "http://corp-proxy:3128"
    assert parse_proxy("http://[::1]:8080").address == "[::1]:8080"
    for bad, why in (
        ("ftp://h:21", "not supported"),
        ("http://h:99999", "port"),
        ("http://:3128", "no host"),
        ("http://h:3128/path", "only scheme"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_proxy(bad)


def test_tuiapp_proxy_wins_over_the_standard_variables_and_a_sources_own_over_both() -> None:
    env = {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "*"}
    plan = ProxyPlan(
        parse_proxy("http://all:2"), {"bing_images": parse_proxy("socks5://own:3")}, env
    )
    assert plan.for_url("https://www.bing.com/", "bing_images").address == "own:3"  # type: ignore[union-attr]
    assert plan.for_url("https://x.example/", "yahoo_images").address == "all:2"  # type: ignore[union-attr]
    with acting_for("bing_images"):
        assert plan.for_url("https://cdn.example/a.jpg").address == "own:3"  # type: ignore[union-attr]
    assert plan.for_url("https://cdn.example/a.jpg").address == "all:2"  # type: ignore[union-attr]


def test_the_standard_variables_are_read_as_curl_reads_them() -> None:
    env = {
        "https_proxy": "http://lower:1",
        "HTTPS_PROXY": "http://upper:1",
        "HTTP_PROXY": "http://plain:2",
        "ALL_PROXY": "socks5h://all:3",
        "NO_PROXY": "internal.example, .corp.example,10.0.0.0/8,[::1]",
    }
    plan = ProxyPlan(environ=env)
    assert plan.for_url("https://a.example/").address == "lower:1"  # type: ignore[union-attr]
    assert plan.for_url("http://a.example/").address == "plain:2"  # type: ignore[union-attr]
    assert plan.for_url("https://internal.example/x") is None
    assert plan.for_url("https://img.internal.example/x") is None
    assert plan.for_url("https://notinternal.example/x").address == "lower:1"  # type: ignore[union-attr]
    assert plan.for_url("http://a.corp.example/") is None
    assert plan.for_url("http://10.2.3.4/") is None
    assert plan.for_url("http://[::1]:8080/") is None
    only_all = ProxyPlan(environ={"all_proxy": "socks5://all:3"})
    assert only_all.for_url("http://a.example/").address == "all:3"  # type: ignore[union-attr]
    # As a CGI script, HTTP_PROXY may come from a request header: curl ignores it, so do we.
    cgi = ProxyPlan(environ={"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"})
    assert cgi.for_url("http://a.example/") is None
    assert bypassed("anything.example", "*")
    assert not bypassed("a.example", "")
    broken = ProxyPlan(environ={"HTTPS_PROXY": "gopher://x:1"})
    assert broken.for_url("https://a.example/") is None
    assert broken.problems == ["HTTPS_PROXY is ignored: gopher:// proxies are not supported"]


def test_the_proxy_settings_are_checked_when_read(tmp_path: Path) -> None:
    none = tmp_path / "none.env"
    settings = load_settings(
        {
            "TUIAPP_PROXY": "socks5h://u:p@127.0.0.1:1080",
            "TUIAPP_SOURCE_BING_IMAGES__PROXY": "http://127.0.0.1:3128",
            "HTTPS_PROXY": "http://corp:8080",
            "TUIAPP_DATA_DIR": str(tmp_path),
        },
        env_file=none,
    )
    assert settings.proxy == "socks5h://u:p@127.0.0.1:1080"
    assert settings.source_settings["bing_images"]["proxy"] == "http://127.0.0.1:3128"
    assert settings.proxy_environ == {"HTTPS_PROXY": "http://corp:8080"}
    with pytest.raises(SettingsError, match=r"TUIAPP_PROXY.*expected a proxy URL"):
        load_settings({"TUIAPP_PROXY": "ftp://x"}, env_file=none)
    with pytest.raises(SettingsError, match="TUIAPP_SOURCE_YAHOO_IMAGES__PROXY"):
        load_settings({"TUIAPP_SOURCE_YAHOO_IMAGES__PROXY": "http://h:port"}, env_file=none)


# --- every request through the proxy ----------------------------------------------------------------


async def _tuiapp(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", *args,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _picsum_routes(n: int) -> dict[str, tuple[bytes, str]]:
    """The picsum listing and its images: path -> (body, content type)."""
    routes: dict[str, tuple[bytes, str]] = {}
    items = [
        {"id": str(i), "author": f"A{i}", "width": 100, "height": 50, "url": f"https://x/{i}",
         "download_url": f"{{BASE}}/id/{i}/100/50.jpg"}
        for i in range(n)
    ]  # fmt: skip
    routes["/v2/list"] = (json.dumps(items).encode(), "application/json")
    for i in range(n):
        routes[f"/id/{i}/100/50.jpg"] = (jpeg(seed=i), "image/jpeg")
    return routes


def _env(tmp_path: Path, base: str, proxy: str) -> dict[str, str]:
    (tmp_path / "no.env").write_text("")
    return {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": base,
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
        "TUIAPP_PROXY": proxy,
        "TUIAPP_NEAR_DUPLICATES": "false",
    }


async def test_every_request_of_a_get_job_goes_through_the_proxy(
    replay: ReplayServer, tmp_path: Path
) -> None:
    for path, (body, kind) in _picsum_routes(3).items():
        replay.add(path, Reply(rebased(body.decode("latin-1"), replay.url()).encode("latin-1"),
                               content_type=kind))  # fmt: skip
    async with recording_proxy() as proxy:
        env = _env(tmp_path, replay.url(), proxy.url)
        code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "3")
    assert code == 0, err
    assert json.loads(out)["job"]["stored"] == 3
    asked = [f"GET {replay.url()}{r.path}" for r in replay.requests]
    assert len(asked) >= 4  # the listing and three images at least
    for line in asked:
        assert any(p.startswith(line) for p in proxy.requests), (line, proxy.requests)
    assert len(proxy.requests) == len(replay.requests)


@pytest.fixture
def tls_origin_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl program)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (FileNotFoundError, subprocess.CalledProcessError):
        pytest.skip("the openssl program cannot make a test certificate here")
    return cert, key


async def test_an_https_origin_is_reached_through_connect_only(
    tmp_path: Path, tls_origin_cert: tuple[Path, Path]
) -> None:
    cert, key = tls_origin_cert
    peers: list[int] = []
    routes: dict[str, tuple[bytes, str]] = {}

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        body, kind = routes[request.path]
        return web.Response(body=body, content_type=kind)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
    await site.start()
    base = f"https://127.0.0.1:{port}"
    for path, (body, kind) in _picsum_routes(3).items():
        routes[path] = (rebased(body.decode("latin-1"), base).encode("latin-1"), kind)
    try:
        async with recording_proxy() as proxy:
            env = {**_env(tmp_path, base, proxy.url), "SSL_CERT_FILE": str(cert)}
            code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "3")
    finally:
        await runner.cleanup()
    assert code == 0, err
    assert json.loads(out)["job"]["stored"] == 3
    assert len(peers) >= 4
    assert proxy.requests and set(proxy.requests) == {f"CONNECT 127.0.0.1:{port}"}
    assert set(peers) <= proxy.outbound_ports  # every request came out of a proxy tunnel


async def test_a_proxy_that_is_down_fails_the_job_fast_naming_the_proxy(
    replay: ReplayServer, tmp_path: Path
) -> None:
    port = _free_port()
    env = _env(tmp_path, replay.url(), f"http://127.0.0.1:{port}")
    code, _, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "3")
    assert code == 1
    assert f"cannot reach proxy 127.0.0.1:{port} (connection refused)" in err
    assert replay.requests == []


async def test_the_browser_transport_goes_through_the_proxy_too(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    text = fixture_text("handwritten", "bing_images", "async_page1_handwritten.html")
    replay.add("/images/async", Reply(rebased(text, replay.url()).encode(), 200, {}, "text/html"))
    async with recording_proxy() as proxy, listening() as tls:
        settings = make_settings(proxy=proxy.url)
        async with probe(settings, replay.url()) as p:
            found = await collect(BingImagesSource(), p.ctx, "red panda", limit=2)
            with pytest.raises(SourceError):  # the TLS listener hangs up after the hello
                await p.ctx.http.get(tls.url + "/", browser=DESKTOP_CHROME)
    assert found
    assert proxy.requests[0].startswith(f"GET {replay.url()}/images/async?")
    assert proxy.requests[-1] == f"CONNECT 127.0.0.1:{tls.port}"
    (hello,) = tls.hellos  # the browser's hello, carried through the tunnel
    assert hello.looks_like_chrome()


@pytest.mark.parametrize("browser", [None, DESKTOP_CHROME], ids=["aiohttp", "curl"])
async def test_a_proxy_refusing_connect_or_down_is_named_not_the_site(
    browser: Any, make_settings: MakeSettings
) -> None:
    async with recording_proxy(refuse_connect=True) as proxy:
        fetcher = Fetcher(make_settings(proxy=proxy.url))
        await fetcher.start()
        try:
            with pytest.raises(ProxyUnreachableError, match=rf"proxy {proxy.address} .*403"):
                await fetcher.get("https://images.example/", browser=browser)
        finally:
            await fetcher.close()
    assert proxy.requests == ["CONNECT images.example:443"]  # resolved by the proxy, not here
    port = _free_port()
    fetcher = Fetcher(make_settings(proxy=f"http://127.0.0.1:{port}"))
    await fetcher.start()
    try:
        with pytest.raises(
            ProxyUnreachableError, match=rf"^cannot reach proxy 127.0.0.1:{port} \(connection"
        ):
            await fetcher.get("http://images.example/", browser=browser)
    finally:
        await fetcher.close()


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_a_socks_proxy_carries_pages_downloads_and_the_browser(
    scheme: str, replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/page", Reply(b"page", 200, {}, "text/plain"))
    replay.add("/a.jpg", Reply(jpeg(seed=1), 200, {}, "image/jpeg"))
    async with recording_proxy() as proxy:
        fetcher = Fetcher(make_settings(proxy=f"{scheme}://me:pw@127.0.0.1:{proxy.port}"))
        await fetcher.start()
        written: list[bytes] = []

        async def write(piece: bytes) -> None:
            written.append(piece)

        try:
            assert (await fetcher.get(replay.url("/page"))).body == b"page"
            await fetcher.download(replay.url("/a.jpg"), write=write)
            page = await fetcher.get(replay.url("/page"), browser=DESKTOP_CHROME)
            assert page.body == b"page"
        finally:
            await fetcher.close()
    assert b"".join(written) == jpeg(seed=1)
    origin = replay.url().removeprefix("http://")
    # aiohttp's session through the proxy keeps its connection for the download; curl opens
    # its own: every connection to the origin was asked of the proxy.
    assert set(proxy.requests) == {f"SOCKS {origin}"} and len(proxy.requests) in (2, 3)
    assert set(proxy.auth) == {"me:pw"}
    assert len(replay.requests) == 3


async def test_the_proxy_login_goes_to_the_proxy(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/a", Reply(b"ok", 200, {}, "text/plain"))
    async with recording_proxy(require_auth="me:pa ss") as proxy:
        url = f"http://me:pa%20ss@127.0.0.1:{proxy.port}"
        fetcher = Fetcher(make_settings(proxy=url))
        await fetcher.start()
        try:
            assert (await fetcher.get(replay.url("/a"))).body == b"ok"
            assert (await fetcher.get(replay.url("/a"), browser=DESKTOP_CHROME)).body == b"ok"
        finally:
            await fetcher.close()
    assert len(proxy.requests) == 2
    assert "Authorization" not in replay.hits("/a")[0].headers


async def test_a_sources_own_proxy_carries_its_requests_only(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/a", Reply(b"ok", 200, {}, "text/plain"))
    async with recording_proxy() as proxy:
        settings = make_settings(source_settings={"bing_images": {"proxy": proxy.url}})
        fetcher = Fetcher(settings)
        await fetcher.start()
        try:
            await fetcher.get(replay.url("/a"))
            with acting_for("bing_images"):
                await fetcher.get(replay.url("/a"))
                assert fetcher.proxy_for("https://x.example/") == proxy.url
            with acting_for("yahoo_images"):
                await fetcher.get(replay.url("/a"))
        finally:
            await fetcher.close()
    assert proxy.requests == [f"GET {replay.url()}/a"]
    assert len(replay.hits("/a")) == 3


# --- doctor -----------------------------------------------------------------------------------------


async def test_doctor_shows_the_proxy_masked_and_reaches_through_it(
    make_settings: MakeSettings,
) -> None:
    async with recording_proxy() as proxy, listening() as tls:
        masked = f"http://me:***@127.0.0.1:{proxy.port}"
        settings = make_settings(proxy=f"http://me:secret@127.0.0.1:{proxy.port}")

        class NoStorage:
            async def integrity_report(self) -> dict[str, Any]:
                return {}

        checks = {c.name: c for c in await run_checks(settings, NoStorage())}  # type: ignore[arg-type]
        assert checks["proxy"].detail == f"{masked} (from TUIAPP_PROXY)"
        assert "secret" not in json.dumps([c.to_dict() for c in checks.values()])
        plain = f"http://127.0.0.1:{tls.port}"
        ok = await reach(plain, proxy=parse_proxy(proxy.url))
    assert ok.ok and f"through proxy {proxy.url}" in ok.detail
    assert proxy.requests == [f"CONNECT 127.0.0.1:{tls.port}"]
    port = _free_port()
    down = await reach("https://www.bing.com", proxy=parse_proxy(f"http://127.0.0.1:{port}"))
    assert not down.ok
    assert down.detail == f"cannot reach proxy 127.0.0.1:{port} (connection refused)"
    async with recording_proxy(refuse_connect=True) as refusing:
        no = await reach("https://www.bing.com", proxy=parse_proxy(refusing.url))
    assert no.detail == f"cannot reach proxy {refusing.address} (it answered HTTP 403 to CONNECT)"


async def test_yt_dlp_lists_and_downloads_through_the_proxy(
    replay: ReplayServer, make_settings: MakeSettings, tmp_path: Path
) -> None:
    from tests.videos import mp4_bytes
    from tuiapp.sources.base import SourceQuery, TransferContext
    from tuiapp.sources.youtube import YoutubeSource

    body = mp4_bytes(50_000)
    replay.add("/clip.mp4", Reply(body, content_type="video/mp4"))
    async with recording_proxy() as proxy:
        settings = make_settings(source_settings={"youtube": {"proxy": proxy.url}})
        async with probe(settings, replay.url()) as p:
            query = SourceQuery(text=replay.url("/clip.mp4"), count=1, is_url=True)
            with acting_for("youtube"):
                [item] = [f async for f in YoutubeSource().iterate(query, p.ctx)]
                assert item.download is not None
                result = await item.download(
                    TransferContext(
                        scratch_dir=tmp_path / "scratch",
                        max_size=10**6,
                        stall_timeout=5,
                        report=lambda **values: None,
                        cancelled=lambda: False,
                    )
                )
    assert result.path.read_bytes() == body
    assert proxy.requests
    assert set(proxy.requests) == {f"GET {replay.url()}/clip.mp4"}
    assert len(replay.hits("/clip.mp4")) == len(proxy.requests)


@pytest.mark.parametrize("browser", [None, DESKTOP_CHROME], ids=["aiohttp", "curl"])
async def test_a_proxy_asking_for_a_login_is_named_not_the_site(
    browser: Any, replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/a", Reply(b"ok", 200, {}, "text/plain"))
    async with recording_proxy(require_auth="me:right") as proxy:
        for login, why in (("", "it asks for a login"), ("me:wrong@", "it refused the login")):
            fetcher = Fetcher(make_settings(proxy=f"http://{login}127.0.0.1:{proxy.port}"))
            await fetcher.start()
            try:
                with pytest.raises(ProxyUnreachableError) as info:
                    await fetcher.get(replay.url("/a"), browser=browser)
                if browser is None:
                    with pytest.raises(ProxyUnreachableError):
                        await fetcher.download(replay.url("/a"), write=_discard)
            finally:
                await fetcher.close()
            assert str(info.value) == f"cannot reach proxy {proxy.address} ({why}, HTTP 407)"
    assert replay.requests == []


async def _discard(piece: bytes) -> None:
    return None


@pytest.mark.parametrize("browser", [None, DESKTOP_CHROME], ids=["aiohttp", "curl"])
async def test_a_socks_proxy_that_is_down_is_named(
    browser: Any, make_settings: MakeSettings
) -> None:
    port = _free_port()
    fetcher = Fetcher(make_settings(proxy=f"socks5h://127.0.0.1:{port}"))
    await fetcher.start()
    try:
        with pytest.raises(ProxyUnreachableError) as info:
            await fetcher.get("https://images.example/", browser=browser)
    finally:
        await fetcher.close()
    assert str(info.value) == f"cannot reach proxy 127.0.0.1:{port} (connection refused)"


async def test_doctor_names_each_sources_own_proxy_and_ignored_variables(
    make_settings: MakeSettings,
) -> None:
    class NoStorage:
        async def integrity_report(self) -> dict[str, Any]:
            return {}

    settings = make_settings(
        source_settings={"yandex_images": {"proxy": "socks5h://u:pw@127.0.0.1:1080"}},
        proxy_environ={"HTTPS_PROXY": "http://corp:8080", "ALL_PROXY": "gopher://x:1"},
    )
    checks = {c.name: c for c in await run_checks(settings, NoStorage())}  # type: ignore[arg-type]
    proxy = checks["proxy"]
    assert not proxy.ok
    assert proxy.detail.startswith("http://corp:8080 (from the proxy environment variables)")
    assert "own proxy: yandex_images socks5h://u:***@127.0.0.1:1080" in proxy.detail
    assert "ALL_PROXY is ignored: gopher:// proxies are not supported" in proxy.detail
    assert "pw" not in proxy.detail.replace("proxy", "")
