"""What a hostile body may cost the fetcher, and what of it reaches an error: little, and nothing."""

from __future__ import annotations

import gzip
import os
import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.images import png
from tests.replay import ReplayServer, Reply
from tuiapp.errors import FormatChangedError, HTTPStatusError, TooLargeError
from tuiapp.fetch import MAX_DECODE_RATIO, MAX_PAGE_SIZE, Fetcher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from tuiapp.config import Settings

PNG_HEAD = b"\x89PNG\r\n\x1a\n"
SECRET = b"SECRET-AWS-KEY=AKIA0123456789"


@pytest.fixture
async def fetcher(
    make_settings: Callable[..., Settings], replay: ReplayServer
) -> AsyncIterator[Fetcher]:
    f = Fetcher(make_settings(retries=1), allow=(replay.url(),))
    await f.start()
    yield f
    await f.close()


class Sink:
    def __init__(self) -> None:
        self.size = 0
        self.parts: list[bytes] = []

    async def __call__(self, data: bytes) -> None:
        self.size += len(data)
        if self.size < 1_000_000:
            self.parts.append(data)


def gzipped(body: bytes, content_type: str = "image/png") -> Reply:
    return Reply(
        gzip.compress(body, 6), headers={"Content-Encoding": "gzip"}, content_type=content_type
    )


# --- bodies in errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 500])
async def test_an_error_status_reports_type_and_size_never_the_body(
    fetcher: Fetcher, replay: ReplayServer, status: int
) -> None:
    replay.add("/a.png", Reply(SECRET, status=status, content_type="text/plain"))
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.download(replay.url("/a.png"), write=Sink())
    text = str(info.value)
    assert f"HTTP {status}" in text and f"text/plain, {len(SECRET)} bytes" in text
    assert "SECRET" not in text and "AKIA" not in text


async def test_a_body_that_is_not_the_promised_media_is_described_not_quoted(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/a.png", Reply(SECRET + b"\x1b]2;owned\x07", content_type="image/png"))
    with pytest.raises(Exception, match=r"expected an image") as info:
        await fetcher.download(replay.url("/a.png"), write=Sink())
    assert "SECRET" not in str(info.value) and "\x1b" not in str(info.value)


async def test_a_hostile_content_type_is_not_repeated(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=SECRET, status=404, headers={"Content-Type": "SECRET [x] y"})

    replay.add("/a.png", handler)
    with pytest.raises(HTTPStatusError, match="a bad Content-Type") as info:
        await fetcher.download(replay.url("/a.png"), write=Sink())
    assert "SECRET" not in str(info.value)


async def test_a_page_preview_is_printable(fetcher: Fetcher, replay: ReplayServer) -> None:
    replay.add("/p", Reply(b"\x1b]2;title\x07\x1b[31mred\xe2\x80\xaeevil" + b"x" * 500))
    resp = await fetcher.get(replay.url("/p"))
    preview = resp.preview(1000)
    assert "red" in preview and "evil" in preview
    assert not any(c in preview for c in ("\x1b", "\x07", "\u202e"))
    assert len(preview) <= 200


# --- compressed bodies -------------------------------------------------------------------------


async def test_a_compressed_image_is_stored_decoded(fetcher: Fetcher, replay: ReplayServer) -> None:
    body = png(seed=5) + b"\x00" * 50_000
    replay.add("/a.png", gzipped(body))
    sink = Sink()
    result = await fetcher.download(replay.url("/a.png"), write=sink)
    assert b"".join(sink.parts) == body and result.size == len(body)


async def test_a_compression_bomb_is_refused_as_it_inflates(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    bomb = gzip.compress(PNG_HEAD + b"\x00" * 200_000_000, 9)  # ~200 KB on the wire
    replay.add(
        "/a.png", Reply(bomb, headers={"Content-Encoding": "gzip"}, content_type="image/png")
    )
    sink = Sink()
    started = time.monotonic()
    with pytest.raises(TooLargeError, match="compression bomb"):
        await fetcher.download(replay.url("/a.png"), write=sink)
    # Judged against the bytes received so far, which run ahead of the decoder.
    assert sink.size <= MAX_DECODE_RATIO * len(bomb)
    assert time.monotonic() - started < 5


async def test_a_compressed_body_counts_its_decoded_size_against_the_limit(
    make_settings: Callable[..., Settings], replay: ReplayServer
) -> None:
    body = PNG_HEAD + os.urandom(150_000) + b"\x00" * 1_000_000  # inflates ~7x: no bomb
    replay.add("/a.png", gzipped(body))
    f = Fetcher(make_settings(max_file_size=400_000), allow=(replay.url(),))
    await f.start()
    try:
        sink = Sink()
        with pytest.raises(TooLargeError, match="larger than the limit 400,000"):
            await f.download(replay.url("/a.png"), write=sink)
        assert sink.size <= 400_000
    finally:
        await f.close()


# --- pages -------------------------------------------------------------------------------------


async def test_a_page_over_the_cap_is_refused_early_without_buffering_it(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    """A 30 MB listing page (no Content-Length) is refused after MAX_PAGE_SIZE, memory bounded."""
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        block = b"<div>" + b"x" * (256 * 1024 - 5)
        for _ in range(120):  # 30 MiB
            await resp.write(block)
            sent += len(block)
        await resp.write_eof()
        return resp

    replay.add("/big", huge)
    tracemalloc.start()
    try:
        with pytest.raises(FormatChangedError, match=r"more than 8,388,608 bytes for a page"):
            await fetcher.get(replay.url("/big"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * MAX_PAGE_SIZE  # the old read kept 60 MiB for a 30 MiB page
    assert sent < 30 * 1024**2  # the server was not read to its end


async def test_a_page_declaring_a_size_over_the_cap_is_not_read(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/big", Reply(b"[" + b"0," * (MAX_PAGE_SIZE // 2) + b"0]"))
    with pytest.raises(FormatChangedError, match="for a page"):
        await fetcher.get(replay.url("/big"))


async def test_a_compressed_page_is_capped_by_its_decoded_size(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/big", gzipped(b" " * (MAX_PAGE_SIZE + 1), "application/json"))
    with pytest.raises(FormatChangedError, match="for a page"):
        await fetcher.get(replay.url("/big"))


async def test_json_nested_absurdly_deep_is_a_changed_format_not_a_crash(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/api", Reply(b"[" * 30_000 + b"]" * 30_000, content_type="application/json"))
    resp = await fetcher.get(replay.url("/api"))
    with pytest.raises(FormatChangedError, match="nested too deep"):
        resp.json()


async def test_a_page_that_is_not_json_is_a_changed_format_without_its_body(
    fetcher: Fetcher, replay: ReplayServer
) -> None:
    replay.add("/api", Reply(SECRET, content_type="text/html"))
    resp = await fetcher.get(replay.url("/api"))
    with pytest.raises(FormatChangedError, match=r"not JSON") as info:
        resp.json()
    assert "SECRET" not in str(info.value) and "text/html" in str(info.value)


async def test_a_page_under_the_cap_is_read_whole(fetcher: Fetcher, replay: ReplayServer) -> None:
    body = b"[" + b"1," * 1_000_000 + b"1]"
    replay.add("/api", Reply(body, content_type="application/json"))
    resp = await fetcher.get(replay.url("/api"))
    assert resp.body == body and len(resp.json()) == 1_000_001
