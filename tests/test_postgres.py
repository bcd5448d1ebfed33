"""The same storage and engine on PostgreSQL (skipped where no PostgreSQL server can run)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tests.images import png
from tests.replay import ReplayServer, Reply
from tuiapp.engine import Engine
from tuiapp.jobs import JobSpec, JobState
from tuiapp.storage import CHUNK_SIZE

if TYPE_CHECKING:
    from tests.fake_sources import Script

EngineFactory = Callable[..., Awaitable[Engine]]


async def test_jobs_blobs_and_dedup_work_on_postgresql(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: EngineFactory,
    scripted: Callable[..., Script],
) -> None:
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(2 * CHUNK_SIZE + 77)
    small = png(seed=5)
    replay.add("/big.png", Reply(big, content_type="image/png"))
    replay.add("/small.png", Reply(small, content_type="image/png"))
    replay.add("/small-again.png", Reply(small, content_type="image/png"))
    scripted(
        "fake_a",
        urls=[replay.url("/big.png"), replay.url("/small.png"), replay.url("/small-again.png")],
    )
    engine = await engine_factory(database_url=postgres_url)
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=3))
    final = await engine.wait(job.id, None)
    assert final.state is JobState.DONE, final.sources[0].error
    assets = await engine.list_assets(None, job_id=job.id)
    assert len(assets) == 3
    by_url = {a.url.rsplit("/", 1)[-1]: a for a in assets}
    assert by_url["big.png"].sha256 == hashlib.sha256(big).hexdigest()
    assert by_url["small.png"].sha256 == by_url["small-again.png"].sha256
    _, chunks = await engine.read_asset(by_url["big.png"].id, None, CHUNK_SIZE - 3, CHUNK_SIZE + 3)
    assert b"".join([c async for c in chunks]) == big[CHUNK_SIZE - 3 : CHUNK_SIZE + 3]
    report = await engine.integrity_report()
    assert report == {
        "bad_blobs": [],
        "orphan_chunks": 0,
        "partial_blobs": 0,
        "integrity_check": "ok",
    }
    assert [j.id for j in await engine.list_jobs(None, text="Q FAKE_A done")] == [job.id]
    assert await engine.list_jobs(None, text="q fake_b") == []
    alice, _ = await engine.create_user("alice")
    assert await engine.list_assets(alice.id) == []
    await engine.delete_job(job.id, None)
    assert await engine.list_assets(None) == []
    assert (await engine.integrity_report())["orphan_chunks"] == 0


async def test_many_small_files_written_in_one_batch_on_postgresql(
    postgres_url: str, engine_factory: EngineFactory
) -> None:
    import asyncio

    from tuiapp.storage import NewAsset

    engine = await engine_factory(database_url=postgres_url)
    storage = engine.storage
    info = await storage.create_job(
        JobSpec(query="q", sources=("picsum",), count=1), owner=None, settings={}
    )

    async def store(i: int) -> int:
        sink = storage.new_sink(None)
        await sink.write(png(seed=i % 5))
        stored = await sink.finish(
            mime="image/png",
            asset=NewAsset(job_id=info.id, source="picsum", kind="image", url=f"u{i}"),
        )
        return stored.asset_id

    ids = await asyncio.gather(*(store(i) for i in range(40)))
    assert len(set(ids)) == 40
    assets = await storage.list_assets(None, limit=100)
    assert sorted(a.url for a in assets) == sorted(f"u{i}" for i in range(40))
    assert len({a.sha256 for a in assets}) == 5


async def test_postgresql_storage_delivers_a_notification_to_a_listener(
    postgres_url: str, engine_factory: EngineFactory
) -> None:
    """LISTEN runs on a connection of its own, so a message crosses connections as across hosts."""
    import asyncio

    storage = (await engine_factory(database_url=postgres_url)).storage
    assert storage.supports_listen is True
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await storage.listen({"tuiapp_test": heard.put_nowait})
    assert listener is not None and listener.live
    try:
        await storage.notify("tuiapp_test", "hello")
        assert await asyncio.wait_for(heard.get(), 5) == "hello"
    finally:
        await listener.close()
    assert not listener.live
