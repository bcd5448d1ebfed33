"""yt-dlp downloads end to end: yt-dlp's generic extractor on videos the replay server makes.

A test-only source (:class:`LocalVideoSource`) takes the replay server's URLs; everything it does
is :class:`YtDlpSource`'s, so these tests cover what every video source does after listing.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tests.replay import Reply
from tests.videos import Served, mp4_bytes, mp4_head, mp4_stream
from tuiapp import sources as registry
from tuiapp.events import AssetStored, Event, ItemFailed, JobFinished, TransferProgress
from tuiapp.jobs import JobSpec, JobState, SourceState
from tuiapp.sources.ytdlp import YtDlpSource

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.replay import ReplayServer
    from tuiapp.engine import Engine
    from tuiapp.jobs import JobInfo
    from tuiapp.sources.base import Source

    EngineFactory = Callable[..., Awaitable[Engine]]


class LocalVideoSource(YtDlpSource):
    """Takes URLs on 127.0.0.1, where only yt-dlp's generic extractor applies."""

    name = "local_video"
    description = "videos on the local replay server (tests only)"
    base_url = "http://127.0.0.1"
    example = "http://127.0.0.1:8080/clip.mp4"
    pattern = re.compile(r"^http://127\.0\.0\.1:\d+/")


@pytest.fixture(autouse=True)
def local_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the engine find the test-only source by name (it is not in ``MODULES``)."""
    real_get = registry.get

    def get(name: str) -> type[Source]:
        return LocalVideoSource if name == LocalVideoSource.name else real_get(name)

    monkeypatch.setattr(registry, "get", get)


async def run_job(
    engine: Engine, query: str, *, count: int = 1, options: dict[str, Any] | None = None
) -> tuple[JobInfo, list[Event]]:
    """Submit a job to the local source and collect its events until it finishes."""
    events: list[Event] = []
    with engine.subscribe() as sub:
        info = await engine.submit(
            JobSpec(query=query, sources=("local_video",), count=count, options=options or {})
        )
        while (event := await sub.get()) is not None:
            if event.job_id != info.id:
                continue
            events.append(event)
            if isinstance(event, JobFinished):
                break
    return await engine.get_job(info.id, None), events


T = TypeVar("T")


def of_type(events: list[Event], cls: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, cls)]


def scratch_files(engine: Engine) -> list[Path]:
    root = engine.settings.data_dir / "scratch"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_a_video_is_stored_with_progress_and_its_metadata(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    size = 2_000_000
    replay.add("/clips/sunrise.mp4", mp4_stream(size, chunk=64 * 1024, delay=0.02))
    engine = await engine_factory()

    job, events = await run_job(engine, replay.url("/clips/sunrise.mp4"))

    assert job.state is JobState.DONE, job
    (stored,) = of_type(events, AssetStored)
    progress = of_type(events, TransferProgress)
    assert len(progress) >= 2, "a transfer of about a second reports progress more than once"
    assert [p.downloaded for p in progress] == sorted(p.downloaded for p in progress)
    assert progress[-1].downloaded == size
    assert {p.total for p in progress} == {size}
    assert any(p.speed for p in progress)
    asset, chunks = await engine.read_asset(stored.asset_id, None)
    body = b"".join([piece async for piece in chunks])
    assert body[:64] == mp4_head(size)[:64]
    assert len(body) == size == asset.size
    assert asset.sha256 == hashlib.sha256(body).hexdigest()
    assert asset.mime == "video/mp4"
    assert asset.kind == "video"
    assert asset.metadata["extractor"] == "generic"
    assert asset.metadata["id"] == "sunrise"
    assert asset.metadata["title"] == "sunrise"
    assert asset.metadata["webpage_url"] == replay.url("/clips/sunrise.mp4")
    assert asset.metadata["ext"] == "mp4"
    assert "formats" not in asset.metadata
    assert scratch_files(engine) == []


async def test_a_download_that_keeps_moving_outlives_the_source_timeout(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    """SOURCE_TIMEOUT limits searching only; a transfer that moves may take longer."""
    replay.add("/slow.mp4", mp4_stream(600_000, chunk=30_000, delay=0.1))
    engine = await engine_factory(source_timeout=0.8, request_timeout=1.0)

    started = time.monotonic()
    job, events = await run_job(engine, replay.url("/slow.mp4"))

    assert time.monotonic() - started > 1.5
    assert job.state is JobState.DONE, job
    assert len(of_type(events, AssetStored)) == 1


async def test_cancelling_a_job_stops_the_download_in_flight(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    served = Served()
    size = 50_000_000
    replay.add("/long.mp4", mp4_stream(size, chunk=64 * 1024, delay=0.05, served=served))
    engine = await engine_factory()
    events: list[Event] = []

    with engine.subscribe() as sub:
        info = await engine.submit(JobSpec(query=replay.url("/long.mp4"), sources=("local_video",)))
        while (event := await sub.get()) is not None:
            events.append(event)
            if isinstance(event, TransferProgress) and event.downloaded > 0:
                break
        cancelled_at = time.monotonic()
        await engine.cancel(info.id, None)
        job = await engine.wait(info.id, None)

    assert time.monotonic() - cancelled_at < 3
    assert job.state is JobState.CANCELLED
    assert await engine.list_assets(None, job_id=info.id) == []
    # The worker thread notices the flag at its next block, drops the connection and removes
    # its partial file: the server stops sending long before the end.
    await asyncio.wait_for(served.ended.wait(), timeout=5)
    assert served.sent < size // 4
    await asyncio.sleep(0.2)
    assert scratch_files(engine) == []


async def test_the_job_budget_stops_a_download_that_would_outlast_it(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    served = Served()
    size = 50_000_000
    replay.add("/endless.mp4", mp4_stream(size, chunk=64 * 1024, delay=0.05, served=served))
    engine = await engine_factory(global_job_timeout=2.0)

    started = time.monotonic()
    job, events = await run_job(engine, replay.url("/endless.mp4"))

    assert time.monotonic() - started < 4
    assert job.state is JobState.TIMED_OUT
    assert of_type(events, TransferProgress)
    assert await engine.list_assets(None, job_id=job.id) == []
    await asyncio.wait_for(served.ended.wait(), timeout=5)
    assert served.sent < size // 4


@pytest.mark.parametrize("content_length", [True, False], ids=["announced", "chunked"])
async def test_a_video_over_the_size_limit_is_refused(
    engine_factory: EngineFactory, replay: ReplayServer, content_length: bool
) -> None:
    replay.add("/big.mp4", mp4_stream(3_000_000, chunk=64 * 1024, content_length=content_length))
    engine = await engine_factory(max_file_size=1_000_000)

    job, events = await run_job(engine, replay.url("/big.mp4"))

    (failed,) = of_type(events, ItemFailed)
    assert failed.error_code == "too_large"
    assert "1,000,000" in failed.error
    assert of_type(events, AssetStored) == []
    assert job.state is JobState.FAILED
    assert scratch_files(engine) == []


async def test_a_download_that_stops_moving_ends_after_request_timeout(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    release = asyncio.Event()
    replay.add(
        "/stuck.mp4", mp4_stream(5_000_000, chunk=32 * 1024, stall_after=200_000, release=release)
    )
    engine = await engine_factory(request_timeout=1.5)
    try:
        started = time.monotonic()
        job, events = await run_job(engine, replay.url("/stuck.mp4"))
        elapsed = time.monotonic() - started
    finally:
        release.set()

    (failed,) = of_type(events, ItemFailed)
    assert failed.error_code == "stalled"
    assert "REQUEST_TIMEOUT" in failed.error
    assert 1.5 <= elapsed < 1.5 * 3
    (source,) = job.sources
    assert source.state is SourceState.FAILED
    assert max(p.downloaded for p in of_type(events, TransferProgress)) >= 100_000


async def test_a_page_without_video_is_an_unsupported_url(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    page = b"<html><head><title>Nothing here</title></head><body><p>No video.</p></body></html>"
    replay.add("/article", Reply(page, content_type="text/html"))
    engine = await engine_factory()

    job, _ = await run_job(engine, replay.url("/article"))

    (source,) = job.sources
    assert source.state is SourceState.FAILED
    assert source.error_code == "unsupported_url"
    assert "Unsupported URL" in (source.error or "")
    assert "\x1b" not in (source.error or "")


async def test_a_missing_video_is_reported_as_removed(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    engine = await engine_factory()

    job, _ = await run_job(engine, replay.url("/gone.mp4"))

    (source,) = job.sources
    assert source.error_code == "private"
    assert "404" in (source.error or "")


async def test_a_feed_is_listed_up_to_the_playlist_limit_and_each_entry_downloads(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    items = "".join(
        f"<item><title>Clip {n}</title><link>{replay.url(f'/feed/{n}.mp4')}</link></item>"
        for n in range(1, 9)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Clips</title>{items}</channel>'
    feed += "</rss>"
    replay.add("/feed.xml", Reply(feed.encode(), content_type="application/rss+xml"))
    for n in range(1, 9):
        replay.add(f"/feed/{n}.mp4", Reply(mp4_bytes(20_000 + n), content_type="video/mp4"))
    engine = await engine_factory()

    job, events = await run_job(engine, replay.url("/feed.xml"), count=2)

    assert job.state is JobState.DONE
    stored = of_type(events, AssetStored)
    assert len(stored) == 2
    assert {s.title for s in stored} <= {f"Clip {n}" for n in range(1, 9)}
    assert {s.size for s in stored} <= {20_000 + n for n in range(1, 9)}
    # Listing asked for 2 + 2 spare entries; only listed entries were fetched.
    fetched = {r.path for r in replay.requests if r.path.startswith("/feed/")}
    assert fetched <= {f"/feed/{n}.mp4" for n in range(1, 5)}


async def test_progress_reports_come_from_a_thread_and_reach_the_bus_throttled(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    """Blocks arrive every 10 ms; reports are a few per second, not one per block."""
    replay.add("/steady.mp4", mp4_stream(1_500_000, chunk=10_000, delay=0.01))
    engine = await engine_factory()

    started = time.monotonic()
    job, events = await run_job(engine, replay.url("/steady.mp4"))
    elapsed = time.monotonic() - started

    assert job.state is JobState.DONE
    progress = of_type(events, TransferProgress)
    assert 2 <= len(progress) <= elapsed / 0.25 + 3


async def test_a_300_mb_video_is_stored_with_flat_memory(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    size = 300 * 1024 * 1024
    replay.add("/huge.mp4", mp4_stream(size))
    engine = await engine_factory(global_job_timeout=300.0, request_timeout=30.0)
    importlib.import_module("yt_dlp")  # its code is not what this test measures
    base = _rss()
    peak = base
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        job, events = await run_job(engine, replay.url("/huge.mp4"))
    finally:
        done.set()
        await sampler

    assert job.state is JobState.DONE, job
    (stored,) = of_type(events, AssetStored)
    assert stored.size == size
    growth = peak - base
    assert growth < 64 * 1024 * 1024, f"RSS grew by {growth / 2**20:.0f} MiB"
    assert scratch_files(engine) == []


def _rss() -> int:
    """This process's resident memory in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def test_every_response_yt_dlp_opened_is_closed_with_it_error_answers_too(
    replay: ReplayServer,
) -> None:
    from yt_dlp.networking.exceptions import HTTPError

    from tuiapp.sources.ytdlp import _ydl_class

    replay.add("/gone", Reply(b"x" * 2_000_000, 404, {}, "text/html"))
    replay.add("/page", Reply(b"x" * 2_000_000, 200, {}, "text/html"))

    def fetch() -> tuple[Any, Any]:
        with _ydl_class()({"quiet": True}) as ydl:
            page = ydl.urlopen(replay.url("/page"))
            page.read(10)  # read a little, as an extractor sniffing a file does
            with pytest.raises(HTTPError) as refused:
                ydl.urlopen(replay.url("/gone"))
            assert not page.fp.closed and not refused.value.response.fp.closed
        return page, refused.value.response

    page, refused = await asyncio.to_thread(fetch)
    assert page.fp.closed
    assert refused.fp.closed, "an error answer's response is closed with the rest"
