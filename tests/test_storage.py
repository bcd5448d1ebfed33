"""Chunked blobs: streaming writes and reads, dedup per owner (guests too), nothing partial visible."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tuiapp.engine import Engine
from tuiapp.jobs import JobSpec, JobState, SourceState
from tuiapp.models import BlobChunk, CachedAnswer, Job, JobSource, MediaBlob
from tuiapp.storage import CHUNK_SIZE, NewAsset, Storage

if TYPE_CHECKING:
    from pathlib import Path

EngineFactory = Callable[..., Awaitable[Engine]]


@pytest.fixture
async def storage(engine_factory: EngineFactory) -> Storage:
    return (await engine_factory()).storage


async def _job(storage: Storage, owner: int | None = None) -> int:
    info = await storage.create_job(
        JobSpec(query="q", sources=("picsum",), count=1), owner=owner, settings={}
    )
    return info.id


async def _store(
    storage: Storage, data: bytes, owner: int | None, job_id: int, piece: int = 100_000
) -> int:
    sink = storage.new_sink(owner)
    for i in range(0, len(data), piece):
        await sink.write(data[i : i + piece])
    stored = await sink.finish(
        mime="image/png", asset=NewAsset(job_id=job_id, source="picsum", kind="image", url="u")
    )
    return stored.asset_id


async def _read(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345])
async def test_bytes_come_back_exactly_whatever_the_size(storage: Storage, size: int) -> None:
    data = os.urandom(size)
    job_id = await _job(storage)
    asset_id = await _store(storage, data, None, job_id)
    asset = await storage.get_asset(asset_id, None)
    assert asset.size == size and asset.sha256 == hashlib.sha256(data).hexdigest()
    assert await _read(await storage.read_blob(asset.sha256, None)) == data
    blob = await MediaBlob.get(sha256=asset.sha256)
    assert await BlobChunk.filter(blob_id=blob.id).count() == max(1, -(-size // CHUNK_SIZE))


async def test_large_files_written_side_by_side_queue_few_chunks_and_all_arrive(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the number of files, at most two chunks wait for the writer at once."""
    import asyncio

    queued = 0
    most = 0
    submit = storage._writer.submit_nowait

    def counting(op_type: type, **kwargs: object) -> asyncio.Future[object]:
        nonlocal queued, most
        future = submit(op_type, **kwargs)
        if "seq" in kwargs:
            queued += 1
            most = max(most, queued)

            def done(_: object) -> None:
                nonlocal queued
                queued -= 1

            future.add_done_callback(done)
        return future

    monkeypatch.setattr(storage._writer, "submit_nowait", counting)
    files = [os.urandom(4 * CHUNK_SIZE + i) for i in range(4)]
    job_id = await _job(storage)
    ids = await asyncio.gather(*(_store(storage, f, None, job_id, 256 * 1024) for f in files))
    assert most == 2
    for asset_id, data in zip(ids, files, strict=True):
        asset = await storage.get_asset(asset_id, None)
        assert await _read(await storage.read_blob(asset.sha256, None)) == data


@pytest.mark.parametrize(
    ("start", "end"), [(0, 10), (CHUNK_SIZE - 5, CHUNK_SIZE + 5), (2 * CHUNK_SIZE, None), (7, 7)]
)
async def test_ranges_read_only_what_was_asked(
    storage: Storage, start: int, end: int | None
) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 999)
    asset_id = await _store(storage, data, None, await _job(storage))
    asset = await storage.get_asset(asset_id, None)
    assert await _read(await storage.read_blob(asset.sha256, None, start, end)) == data[start:end]


async def test_two_guest_downloads_of_the_same_bytes_make_one_blob(storage: Storage) -> None:
    """SQL UNIQUE treats NULL owners as distinct; the owner_key column makes guests dedup too."""
    data = os.urandom(5000)
    big = os.urandom(CHUNK_SIZE * 2 + 1)
    for payload in (data, big):
        first = await _store(storage, payload, None, await _job(storage))
        second = await _store(storage, payload, None, await _job(storage))
        assert first != second
    assert await MediaBlob.filter(owner_id__isnull=True).count() == 2
    report = await storage.integrity_report()
    assert report["partial_blobs"] == 0 and report["orphan_chunks"] == 0


async def test_each_user_keeps_their_own_copy_and_never_sees_another_users(
    storage: Storage,
) -> None:
    alice, _ = await storage.create_user("alice")
    bob, _ = await storage.create_user("bob")
    data = os.urandom(3000)
    a1 = await _store(storage, data, alice.id, await _job(storage, alice.id))
    a2 = await _store(storage, data, alice.id, await _job(storage, alice.id))
    b1 = await _store(storage, data, bob.id, await _job(storage, bob.id))
    g1 = await _store(storage, data, None, await _job(storage))
    assert await MediaBlob.filter(sha256=hashlib.sha256(data).hexdigest()).count() == 3
    assert {a.id for a in await storage.list_assets(alice.id)} == {a1, a2}
    assert {a.id for a in await storage.list_assets(bob.id)} == {b1}
    assert {a.id for a in await storage.list_assets(None)} == {g1}
    assert len(await storage.list_jobs(alice.id)) == 2
    assert len(await storage.list_jobs(None)) == 1
    from tuiapp.errors import NotFoundError

    with pytest.raises(NotFoundError):
        await storage.get_asset(a1, bob.id)
    with pytest.raises(NotFoundError):
        await storage.get_asset(a1, None)
    with pytest.raises(NotFoundError):
        await storage.delete_asset(b1, alice.id)
    with pytest.raises(NotFoundError):
        await storage.read_blob(hashlib.sha256(data).hexdigest(), 999)


async def test_a_blob_is_invisible_until_finished_and_gone_after_abort(storage: Storage) -> None:
    job_id = await _job(storage)
    sink = storage.new_sink(None)
    await sink.write(os.urandom(3 * CHUNK_SIZE))
    assert await MediaBlob.filter(complete=False).count() == 1
    assert await storage.list_assets(None) == []
    await sink.abort()
    assert await MediaBlob.all().count() == 0
    report = await storage.integrity_report()
    assert report["orphan_chunks"] == 0
    assert job_id


async def test_deleting_the_last_asset_of_a_blob_deletes_the_blob(storage: Storage) -> None:
    data = os.urandom(CHUNK_SIZE + 10)
    a1 = await _store(storage, data, None, await _job(storage))
    a2 = await _store(storage, data, None, await _job(storage))
    await storage.delete_asset(a1, None)
    assert await MediaBlob.all().count() == 1
    await storage.delete_asset(a2, None)
    assert await MediaBlob.all().count() == 0
    assert (await storage.integrity_report())["orphan_chunks"] == 0


async def test_start_up_marks_jobs_of_dead_processes_interrupted_and_drops_their_partial_blobs(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    engine = await engine_factory()
    storage = engine.storage
    job_id = await _job(storage)
    kept = await _store(storage, os.urandom(2000), None, job_id)
    # What a process killed mid-job leaves behind: a running job and a half-written blob.
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    await Job.filter(id=job_id).update(state=JobState.RUNNING, runner=dead)
    await JobSource.filter(job_id=job_id).update(state=SourceState.DOWNLOADING)
    sink = storage.new_sink(None)
    await sink.write(os.urandom(2 * CHUNK_SIZE + 1))
    await MediaBlob.filter(complete=False).update(runner=dead)
    live_job = await _job(storage)
    await Job.filter(id=live_job).update(state=JobState.RUNNING)  # runner: this live process
    await engine.close()

    again = await engine_factory()
    assert again.interrupted == [job_id]
    info = await again.get_job(job_id, None)
    assert info.state is JobState.INTERRUPTED
    assert info.sources[0].state is SourceState.INTERRUPTED
    assert info.sources[0].stored == 1  # recounted from what was really stored
    assert (await again.get_job(live_job, None)).state is JobState.RUNNING
    report = await again.integrity_report()
    assert report == {
        "bad_blobs": [],
        "orphan_chunks": 0,
        "partial_blobs": 0,
        "integrity_check": "ok",
    }
    assert (await again.get_asset(kept, None)).size == 2000


def _dead_pid() -> int:
    """A pid that no process has right now."""
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(storage: Storage) -> None:
    conn = storage._db.conn()
    values = {}
    for pragma in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys"):
        _, rows = await conn.execute_query(f"PRAGMA {pragma}", [])
        values[pragma] = rows[0][0]
    assert values == {
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "synchronous": 1,
        "foreign_keys": 1,
    }


async def test_a_new_sqlite_database_uses_16_kib_pages(storage: Storage) -> None:
    _, rows = await storage._db.conn().execute_query("PRAGMA page_size", [])
    assert rows[0][0] == 16384


async def test_sqlite_storage_cannot_listen_and_marks_its_rows_with_this_process(
    storage: Storage,
) -> None:
    """On SQLite notify reaches no one; the runner id is what recovery reads to spare a job."""
    assert storage.supports_listen is False
    assert storage.runner_id == f"{socket.gethostname()}:{os.getpid()}"
    job_id = await _job(storage)
    assert (await Job.get(id=job_id)).runner == storage.runner_id
    heard: list[str] = []
    assert await storage.listen({"tuiapp_test": heard.append}) is None
    await storage.notify("tuiapp_test", "hello")
    assert heard == []


async def test_discarded_partial_files_give_their_space_back_to_the_file_system(
    tmp_path: Path,
) -> None:
    """A file refused half-way (too large, a gzip bomb, a cut) must not leave the database
    file grown for good."""
    import sqlite3

    from tuiapp.config import sqlite_url

    path = tmp_path / "t.db"
    storage = Storage(sqlite_url(path))
    await storage.open()
    try:
        _, rows = await storage._db.conn().execute_query("PRAGMA auto_vacuum", [])
        assert rows[0][0] == 2  # incremental
        await storage._db.conn().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
        before = path.stat().st_size
        sink = storage.new_sink(None)
        for i in range(30):
            await sink.write(bytes([i]) * CHUNK_SIZE)
        await sink.abort()
        await storage._db.conn().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
        after = path.stat().st_size
    finally:
        await storage.close()
    assert after < before + 2 * CHUNK_SIZE, (before, after)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM blob_chunk").fetchone()[0] == 0
    finally:
        db.close()


async def test_a_database_made_before_auto_vacuum_is_converted_when_opened(
    tmp_path: Path,
) -> None:
    import sqlite3

    from tuiapp.config import sqlite_url

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE leftover (x)")
    old.close()
    storage = Storage(sqlite_url(path))
    await storage.open()
    try:
        _, rows = await storage._db.conn().execute_query("PRAGMA auto_vacuum", [])
    finally:
        await storage.close()
    assert rows[0][0] == 2


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_kept_answers_are_per_source_replaced_and_dropped_past_their_time(
    engine_factory: EngineFactory, request: pytest.FixtureRequest, database: str
) -> None:
    overrides: dict[str, str] = {}
    if database == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    storage = (await engine_factory(**overrides)).storage
    pixabay, other = storage.answers("pixabay"), storage.answers("other")
    assert await pixabay.get("k1") is None
    await pixabay.put("k1", '{"a": 1}', 3600)
    await other.put("k1", "theirs", 3600)
    assert await pixabay.get("k1") == '{"a": 1}'
    assert await other.get("k1") == "theirs"
    await pixabay.put("k1", '{"a": 2}', 3600)  # asked again: replaced, not added
    assert await pixabay.get("k1") == '{"a": 2}'
    assert await CachedAnswer.filter(source="pixabay").count() == 1
    # An entry past its keeping time goes when the source keeps another answer.
    await CachedAnswer.filter(source="pixabay", key="k1").update(
        stored_at=datetime.now(UTC) - timedelta(hours=2)
    )
    await pixabay.put("k2", "new", 3600)
    assert await pixabay.get("k1") is None
    assert await pixabay.get("k2") == "new"
    assert await other.get("k1") == "theirs", "another source's answers are its own"
