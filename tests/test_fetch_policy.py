"""Where the fetcher may connect: non-public addresses are refused before any packet is sent.

Every test stays on loopback: names resolve through a stub resolver, and the connectors under
test get a socket factory that fails the test instead of opening a socket to any address the
policy should have refused.
"""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from tests.images import png
from tests.replay import ReplayServer, Reply
from tuiapp.errors import BlockedAddressError, SourceError
from tuiapp.events import Event, ItemFailed
from tuiapp.fetch import Fetcher, allowing
from tuiapp.fetch.policy import GuardedConnector, refusal
from tuiapp.jobs import JobSpec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from aiohttp.test_utils import TestServer

    from tests.fake_sources import Script
    from tuiapp.config import Settings
    from tuiapp.engine import Engine


class StubResolver(AbstractResolver):
    """Resolves names from a table; counts lookups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        return None


class NoSockets:
    """A socket factory that records the address it was asked for and refuses to make a socket."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, addr_info: Any) -> socket.socket:
        self.asked.append(str(addr_info[4][0]))
        raise OSError("this test opens no socket")


async def _get(
    table: dict[str, list[str]], url: str, *, allowed: tuple[str, ...] = (), cache: bool = False
) -> tuple[BaseException | None, StubResolver, NoSockets]:
    resolver, sockets = StubResolver(table), NoSockets()
    connector = GuardedConnector(
        allowed=allowed, resolver=resolver, socket_factory=sockets, use_dns_cache=cache
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            async with session.get(url):
                pass
        except (BlockedAddressError, aiohttp.ClientError) as exc:
            return exc, resolver, sockets
    return None, resolver, sockets


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.5", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("255.255.255.255", "private"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::5", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
    ],
)
async def test_a_name_resolving_to_a_non_public_address_is_refused_before_connecting(
    address: str, why: str
) -> None:
    error, resolver, sockets = await _get({"evil.example": [address]}, "http://evil.example/x")
    assert isinstance(error, BlockedAddressError), error
    assert why in str(error) and address in str(error)
    assert resolver.lookups == ["evil.example"]
    assert sockets.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/x",
        "http://[::ffff:a00:5]/x",
        "http://[::1]:8765/api/jobs",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
async def test_an_ip_literal_that_is_not_public_is_refused_before_connecting(url: str) -> None:
    error, resolver, sockets = await _get({}, url)
    assert isinstance(error, BlockedAddressError), error
    assert str(error).startswith("refused: ")
    assert resolver.lookups == [] and sockets.asked == []


@pytest.mark.parametrize("url", ["http://2130706433/", "http://127.1/", "http://0x7f000001/"])
async def test_legacy_numeric_forms_of_an_address_never_connect(url: str) -> None:
    table = {h: ["127.0.0.1"] for h in ("2130706433", "127.1", "0x7f000001")}
    error, _, sockets = await _get(table, url)
    assert isinstance(error, (BlockedAddressError, aiohttp.InvalidURL)), error
    assert sockets.asked == []


def test_public_addresses_pass() -> None:
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert refusal(address) is None, address


async def test_of_several_answers_only_the_public_ones_are_tried() -> None:
    table = {"mixed.example": ["10.0.0.1", "93.184.216.34", "127.0.0.1"]}
    error, _, sockets = await _get(table, "http://mixed.example/x")
    assert isinstance(error, aiohttp.ClientConnectorError)  # the stub socket factory's refusal
    assert sockets.asked == ["93.184.216.34"]


async def test_a_name_that_re_resolves_to_a_private_address_is_refused_on_the_next_connection() -> (
    None
):
    """DNS rebinding: the check runs on each connection's own answer, not on the first one."""
    resolver, sockets = StubResolver({"rebind.example": ["93.184.216.34"]}), NoSockets()
    connector = GuardedConnector(resolver=resolver, socket_factory=sockets, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get("http://rebind.example/")
        resolver.table["rebind.example"] = ["169.254.169.254"]
        with pytest.raises(BlockedAddressError, match=r"169\.254\.169\.254 is a link-local"):
            await session.get("http://rebind.example/")
    assert sockets.asked == ["93.184.216.34"]


async def test_cached_dns_answers_are_checked_too() -> None:
    error, resolver, _ = await _get({"evil.example": ["10.1.2.3"]}, "http://evil.example/")
    assert isinstance(error, BlockedAddressError)
    resolver, sockets = StubResolver({"evil.example": ["10.1.2.3"]}), NoSockets()
    connector = GuardedConnector(resolver=resolver, socket_factory=sockets, use_dns_cache=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(2):
            with pytest.raises(BlockedAddressError):
                await session.get("http://evil.example/")
    assert sockets.asked == []


async def test_a_named_origin_may_be_private_but_only_at_its_own_port() -> None:
    table = {"nas.lan": ["192.168.1.5"]}
    allowed = ("http://nas.lan:8080/mirror",)
    error, _, sockets = await _get(table, "http://nas.lan:8080/a.png", allowed=allowed)
    assert isinstance(error, aiohttp.ClientConnectorError)
    assert sockets.asked == ["192.168.1.5"]  # allowed: only the stub factory stopped it
    error, _, sockets = await _get(table, "http://nas.lan:6379/", allowed=allowed)
    assert isinstance(error, BlockedAddressError) and sockets.asked == []


async def test_allowing_names_an_origin_for_this_task_only() -> None:
    resolver, sockets = StubResolver({"nas.lan": ["192.168.1.5"]}), NoSockets()
    connector = GuardedConnector(resolver=resolver, socket_factory=sockets)
    async with aiohttp.ClientSession(connector=connector) as session:
        with allowing(["http://nas.lan/cat.jpg"]), pytest.raises(aiohttp.ClientConnectorError):
            await session.get("http://nas.lan/cat.jpg")
        with pytest.raises(BlockedAddressError):
            await session.get("http://nas.lan/cat.jpg")
    assert sockets.asked == ["192.168.1.5"]


# --- through the fetcher, on two loopback servers ----------------------------------------------


@pytest.fixture
async def other(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> ReplayServer:
    """A second local service on another port, holding a secret."""
    server = ReplayServer()
    test_server = await aiohttp_server(server.app, host="127.0.0.1")
    server.base = str(test_server.make_url("")).rstrip("/")
    server.add("/secret", Reply(b"SECRET-AWS-KEY=AKIA0123456789", content_type="image/png"))
    return server


@pytest.fixture
async def fetcher(
    make_settings: Callable[..., Settings], replay: ReplayServer
) -> AsyncIterator[Fetcher]:
    f = Fetcher(make_settings(retries=2), allow=(replay.url(),))
    await f.start()
    yield f
    await f.close()


async def _download(fetcher: Fetcher, url: str) -> bytes:
    parts: list[bytes] = []

    async def write(data: bytes) -> None:
        parts.append(data)

    await fetcher.download(url, write=write)
    return b"".join(parts)


async def test_the_fetcher_connects_through_the_guarded_connector(fetcher: Fetcher) -> None:
    assert isinstance(fetcher.session.connector, GuardedConnector)


async def test_a_redirect_to_another_local_port_is_refused_and_the_secret_never_read(
    fetcher: Fetcher, replay: ReplayServer, other: ReplayServer
) -> None:
    async def to_secret(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(other.url("/secret"))

    replay.add("/img.png", to_secret)
    with pytest.raises(BlockedAddressError, match=r"refused: 127\.0\.0\.1 is a loopback") as info:
        await _download(fetcher, replay.url("/img.png"))
    assert other.hits("/secret") == []
    assert len(replay.hits("/img.png")) == 1  # a refusal is not retried
    assert isinstance(info.value, SourceError) and info.value.code == "blocked_address"
    with pytest.raises(BlockedAddressError):
        await fetcher.get(replay.url("/img.png"))
    assert other.hits("/secret") == []


async def test_a_loopback_url_from_a_search_result_is_refused(
    fetcher: Fetcher, other: ReplayServer
) -> None:
    with pytest.raises(BlockedAddressError):
        await _download(fetcher, other.url("/secret"))
    assert other.hits("/secret") == []


async def test_a_configured_base_url_is_a_named_origin(
    make_settings: Callable[..., Settings], other: ReplayServer
) -> None:
    other.add("/a.png", Reply(png(seed=3), content_type="image/png"))
    f = Fetcher(make_settings(base_urls={"picsum": other.url()}))
    await f.start()
    try:
        assert await _download(f, other.url("/a.png")) == png(seed=3)
    finally:
        await f.close()


async def test_allow_private_networks_turns_the_policy_off(
    make_settings: Callable[..., Settings], other: ReplayServer
) -> None:
    other.add("/a.png", Reply(png(seed=4), content_type="image/png"))

    f = Fetcher(make_settings(allow_private_networks=True))
    await f.start()
    try:
        assert await _download(f, other.url("/a.png")) == png(seed=4)
    finally:
        await f.close()


async def test_a_pooled_connection_opened_for_one_job_is_not_reused_by_another(
    make_settings: Callable[..., Settings], other: ReplayServer
) -> None:
    """An origin named with ``allowing`` (one job's query URL) stays that job's only."""
    other.add("/a.png", Reply(png(seed=6), content_type="image/png"))
    f = Fetcher(make_settings())
    await f.start()
    try:
        with allowing([other.url()]):
            assert await _download(f, other.url("/a.png")) == png(seed=6)
        with pytest.raises(BlockedAddressError, match="loopback"):
            await _download(f, other.url("/a.png"))
    finally:
        await f.close()
    assert len(other.hits("/a.png")) == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/"])
async def test_only_http_and_https_urls_are_fetched(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(BlockedAddressError, match="not http"):
        await _download(fetcher, url)
    with pytest.raises(BlockedAddressError, match="not http"):
        await fetcher.get(url)


async def test_a_redirect_to_a_file_url_is_refused(fetcher: Fetcher, replay: ReplayServer) -> None:
    async def to_file(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("file:///etc/passwd")

    replay.add("/img.png", to_file)
    with pytest.raises(BlockedAddressError, match="non-http"):
        await _download(fetcher, replay.url("/img.png"))


# --- what a job sees -----------------------------------------------------------------------------


async def test_a_job_whose_image_redirects_to_a_local_service_stores_nothing_and_leaks_nothing(
    replay: ReplayServer,
    other: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
) -> None:
    """The SSRF of issue 11: the secret neither is stored nor appears in any event."""

    async def to_secret(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(other.url("/secret"))

    replay.add("/cat.png", to_secret)
    scripted("fake_a", urls=[replay.url("/cat.png"), other.url("/secret")])
    engine = await engine_factory()
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=2))
        final = await engine.wait(job.id, None)
        events: list[Event] = []
        while (event := sub.get_nowait()) is not None:
            events.append(event)
    failed = [e for e in events if isinstance(e, ItemFailed)]
    assert [e.error_code for e in failed] == ["blocked_address", "blocked_address"]
    assert all("loopback" in e.error for e in failed)
    assert not any("SECRET" in json.dumps(e.to_dict()) for e in events)
    assert final.sources[0].stored == 0
    assert other.hits("/secret") == []


async def test_a_url_typed_as_the_query_names_its_origin_for_that_job_only(
    other: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
) -> None:
    """The user typed the URL: its origin may be fetched, though it is loopback, in that job;
    a search job finding the same URL is refused."""
    other.add("/cat.png", Reply(png(seed=12), content_type="image/png"))
    url = other.url("/cat.png")
    scripted("fake_url", urls=[url], pattern=r"^http://127\.0\.0\.1:\d+/cat\.png$")
    scripted("fake_words", urls=[url])
    engine = await engine_factory()
    typed = await engine.submit(JobSpec(query=url, sources=("fake_url",), count=1))
    searched = await engine.submit(JobSpec(query="cats", sources=("fake_words",), count=1))
    typed_final = await engine.wait(typed.id, None)
    searched_final = await engine.wait(searched.id, None)
    assert typed_final.stored == 1
    assert searched_final.stored == 0
    assert searched_final.sources[0].error_code is not None
