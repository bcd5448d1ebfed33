"""The fetcher: retries, stall detection, content and size checks, against a local server."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.images import jpeg, png
from tests.replay import ReplayServer, Reply, Sequence, stall_after_headers, stream
from tuiapp.errors import (
    ContentRejectedError,
    HTTPStatusError,
    NetworkError,
    RateLimitedError,
    StalledError,
    TooLargeError,
    UnreachableError,
)
from tuiapp.fetch import Fetcher, sniff

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from tuiapp.config import Settings


@pytest.fixture
async def fetcher(
    make_settings: Callable[..., Settings], replay: ReplayServer
) -> AsyncIterator[Fetcher]:
    f = Fetcher(make_settings(request_timeout=0.5, retries=2), allow=(replay.url(),))
    await f.start()
    yield f
    await f.close()


async def _download(fetcher: Fetcher, url: str, **kwargs: object) -> tuple[bytes, str]:
    parts: list[bytes] = []

    async def write(data: bytes) -> None:
        parts.append(data)

    result = await fetcher.download(url, write=write, **kwargs)  # type: ignore[arg-type]
    return b"".join(parts), result.mime


async def test_an_image_is_streamed_and_its_type_sniffed_from_its_bytes(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    body = jpeg(seed=1)
    replay.add("/a", Reply(body, content_type="application/octet-stream"))
    data, mime = await _download(fetcher, replay.url("/a"))
    assert data == body and mime == "image/jpeg"


async def test_an_html_page_served_as_an_image_is_refused_before_anything_is_written(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add(
        "/a", Reply(b"<html><body>Too big of an image!</body></html>", content_type="image/png")
    )
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    with pytest.raises(ContentRejectedError, match=r"expected an image.*image/png") as info:
        await fetcher.download(replay.url("/a"), write=write)
    assert written == []
    assert "got text/html" in str(info.value)  # what the body looks like, judged not quoted
    assert "Too big" not in str(info.value) and "<body>" not in str(info.value)


async def test_a_text_answer_with_status_200_is_refused(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a", Reply(b"Too big of an image!", content_type="text/plain"))
    with pytest.raises(ContentRejectedError, match=r"text/plain, 20 bytes") as info:
        await _download(fetcher, replay.url("/a"))
    assert "Too big" not in str(info.value)


async def test_a_video_is_not_accepted_where_an_image_was_promised(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 600
    replay.add("/a", Reply(mp4, content_type="image/jpeg"))
    with pytest.raises(ContentRejectedError):
        await _download(fetcher, replay.url("/a"))
    data, mime = await _download(fetcher, replay.url("/a"), expect="video")
    assert mime == "video/mp4" and data == mp4


async def test_429_is_retried_after_the_time_retry_after_asks(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    body = png(seed=2)
    replay.add(
        "/a",
        Sequence(
            [
                Reply(b"", status=429, headers={"Retry-After": "1"}),
                Reply(body, content_type="image/png"),
            ]
        ),
    )
    started = time.monotonic()
    data, _ = await _download(fetcher, replay.url("/a"))
    assert data == body
    assert time.monotonic() - started >= 1.0
    assert len(replay.hits("/a")) == 2


async def test_429_that_never_ends_is_reported_as_rate_limited(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a", Reply(b"", status=429))
    with pytest.raises(RateLimitedError, match="rate limited"):
        await _download(fetcher, replay.url("/a"))
    assert len(replay.hits("/a")) == 3  # the first try and two retries


async def test_a_retry_after_longer_than_allowed_fails_at_once(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a", Reply(b"", status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError, match="3600"):
        await _download(fetcher, replay.url("/a"))
    assert len(replay.hits("/a")) == 1


async def test_server_errors_are_retried_then_reported(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a", Reply(b"oops", status=503))
    with pytest.raises(HTTPStatusError, match="HTTP 503"):
        await _download(fetcher, replay.url("/a"))
    assert len(replay.hits("/a")) == 3


@pytest.mark.parametrize("status", [404, 410, 403, 400])
async def test_client_errors_are_never_retried(
    fetcher: Fetcher, replay: ReplayServer, status: int
) -> None:
    replay.add("/a", Reply(b"no", status=status))
    with pytest.raises(HTTPStatusError) as info:
        await _download(fetcher, replay.url("/a"))
    assert info.value.status == status
    assert len(replay.hits("/a")) == 1


async def test_a_server_that_stalls_after_the_headers_is_abandoned(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a", stall_after_headers())
    started = time.monotonic()
    with pytest.raises(StalledError, match="REQUEST_TIMEOUT"):
        await _download(fetcher, replay.url("/a"))
    assert time.monotonic() - started < 3


async def test_a_slow_transfer_that_keeps_moving_is_not_a_stall(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a", stream(12, b"\x89PNG\r\n\x1a\n" + b"z" * 1000, "image/png", delay=0.2))
    data, _ = await _download(fetcher, replay.url("/a"))
    assert len(data) == 12 * 1008  # 2.4 s in all, well past the 0.5 s REQUEST_TIMEOUT


async def test_a_declared_oversized_file_is_refused_before_reading(
    make_settings: Callable[..., Settings], replay: ReplayServer
) -> None:
    replay.add("/a", Reply(png(seed=1) + b"\x00" * 5000, content_type="image/png"))
    f = Fetcher(make_settings(max_file_size=1000), allow=(replay.url(),))
    await f.start()
    try:
        with pytest.raises(TooLargeError, match="limit"):
            await _download(f, replay.url("/a"))
    finally:
        await f.close()


async def test_an_endless_body_is_cut_at_the_size_limit(
    make_settings: Callable[..., Settings], replay: ReplayServer
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"\x89PNG\r\n\x1a\n")
        while True:
            await resp.write(b"\x00" * 65536)

    replay.add("/a", endless)
    f = Fetcher(make_settings(max_file_size=1_000_000), allow=(replay.url(),))
    await f.start()
    try:
        with pytest.raises(TooLargeError):
            await _download(f, replay.url("/a"))
    finally:
        await f.close()


async def test_a_truncated_body_is_an_error_not_a_short_file(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    async def truncated(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": "100000"})
        await resp.prepare(request)
        await resp.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000)
        assert request.transport is not None
        request.transport.close()
        return resp

    replay.add("/a", truncated)
    with pytest.raises(NetworkError):
        await _download(fetcher, replay.url("/a"))


async def test_a_refused_connection_is_not_retried_and_says_the_host_is_unreachable(
    make_settings: Callable[..., Settings],
) -> None:
    """The next try would meet the same closed port: fail at once (the source gives up on the
    host after three in a row)."""
    f = Fetcher(make_settings(retries=5, retry_base_delay=1.0), allow=("http://127.0.0.1:9",))
    await f.start()
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(UnreachableError) as caught:
            await _download(f, "http://127.0.0.1:9/nothing.png")
        # Five retries with backoff from 1 s would take over 30 s.
        assert asyncio.get_running_loop().time() - started < 5.0
    finally:
        await f.close()
    assert str(caught.value) == "cannot reach 127.0.0.1 (connection refused)"
    assert caught.value.code == "offline"


async def test_pages_are_read_whole_and_statuses_can_be_allowed(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add(
        "/api", Reply(b'{"errors": ["bad key"]}', status=401, content_type="application/json")
    )
    resp = await fetcher.get(replay.url("/api"), allow_status=(401,))
    assert resp.status == 401 and resp.json() == {"errors": ["bad key"]}
    with pytest.raises(HTTPStatusError, match="401"):
        await fetcher.get(replay.url("/api"))


def test_svg_is_an_image_only_when_declared_and_shaped_like_one() -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    assert sniff(svg, "image/svg+xml") == "image/svg+xml"
    assert sniff(svg, "text/html") is None
    assert sniff(b"<html><svg></svg></html>", "image/svg+xml") is None


async def test_api_keys_in_urls_never_reach_error_messages(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/api", Reply(b"[ERROR 400] bad", status=400))
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.get(replay.url("/api"), params={"key": "s3cret-key", "q": "cats"})
    assert "s3cret-key" not in str(info.value)
    assert "key=***" in str(info.value) and "q=cats" in str(info.value)
