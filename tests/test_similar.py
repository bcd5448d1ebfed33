"""Near-duplicate pictures: the hash, groups per owner with their best copy, unique lists and
exports, the per-source count, and the migration on a database made before it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.fake_sources import Script
from tests.photos import cropped, encode, picture, resized
from tests.replay import ReplayServer, Reply
from tuiapp.cli.progress import duplicate_lines
from tuiapp.engine import Engine
from tuiapp.engine.hash_process import HashProcess, HashProcessError
from tuiapp.engine.near_duplicates import NearDuplicates, NoNearDuplicates, backfill, hook
from tuiapp.events import AssetStored
from tuiapp.jobs import AssetInfo, Fingerprint, JobSpec, JobState
from tuiapp.phash import MAX_DISTANCE, fingerprint, hamming, phash
from tuiapp.screens.job_detail import source_row
from tuiapp.storage import CHUNK_SIZE, NewAsset, Storage, StoredAsset
from tuiapp.storage.database import Database
from tuiapp.storage.rows import Fingerprinting

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from aiohttp import web

    from tuiapp.storage.writer import BlobWriter

EngineFactory = Callable[..., Awaitable[Engine]]
Scripted = Callable[..., Script]

BIG = encode(picture(3))  # 800x600
SMALL = encode(resized(picture(3), 640, 480), quality=60)
OTHER = encode(picture(4))


def _hash(data: bytes) -> int:
    value = phash(data)
    assert value is not None
    return value


def test_copies_of_one_picture_hash_close_and_different_pictures_far() -> None:
    original = _hash(BIG)
    assert hamming(original, _hash(SMALL)) <= MAX_DISTANCE
    assert hamming(original, _hash(encode(cropped(picture(3), 0.03)))) <= MAX_DISTANCE
    assert hamming(original, _hash(encode(picture(3), "PNG"))) <= MAX_DISTANCE
    for seed in range(5, 12):
        assert hamming(original, _hash(encode(picture(seed)))) > MAX_DISTANCE


def test_no_hash_for_what_is_no_picture() -> None:
    assert phash(b"") is None
    assert phash(b"%PDF-1.4 not an image") is None
    assert phash(BIG[: len(BIG) // 50]) is None  # the header of a cut-off JPEG
    assert phash(encode(picture(3).convert("L").point(lambda _: 128))) is None  # a blank
    found = fingerprint(BIG)
    assert found is not None and (found.width, found.height) == (800, 600)


def test_a_nearly_flat_picture_gets_no_hash() -> None:
    from PIL import Image, ImageDraw

    white = Image.new("RGB", (800, 600), "white")
    ImageDraw.Draw(white).rectangle([390, 290, 410, 310], fill="black")  # a product on white
    assert phash(encode(white)) is None


def _serve(replay: ReplayServer, name: str, body: bytes) -> str:
    replay.add(f"/{name}.jpg", Reply(body, content_type="image/jpeg"))
    return replay.url(f"/{name}.jpg")


async def _assets(engine: Engine, owner: int | None = None, **kw: object) -> list[AssetInfo]:
    return await engine.list_assets(owner, **kw)  # type: ignore[arg-type]


async def test_a_recompressed_smaller_copy_from_another_source_points_to_the_bigger(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted, tmp_path: Path
) -> None:
    big_stored = asyncio.Event()

    async def small_after_big(request: web.Request) -> web.StreamResponse:
        # The copy comes once the bigger one is stored, so its event can name it.
        await big_stored.wait()
        return await Reply(SMALL, content_type="image/jpeg")(request)

    replay.add("/small.jpg", small_after_big)
    scripted("fake_a", urls=[_serve(replay, "big", BIG), _serve(replay, "other", OTHER)])
    scripted("fake_b", urls=[replay.url("/small.jpg")])
    engine = await engine_factory()
    stored: dict[int, int | None] = {}

    def seen(event: object) -> None:
        if isinstance(event, AssetStored):
            stored[event.asset_id] = event.duplicate_of
            if event.url.endswith("big.jpg"):
                big_stored.set()

    with engine.subscribe() as sub:

        async def watch() -> None:
            while (event := await sub.get()) is not None:
                seen(event)

        watcher = asyncio.create_task(watch())
        job = await engine.submit(JobSpec(query="q", sources=("fake_a", "fake_b"), count=2))
        final = await engine.wait(job.id, None)
        watcher.cancel()
        while (event := sub.get_nowait()) is not None:
            seen(event)
    assert final.state is JobState.DONE
    by_url = {a.url.rsplit("/", 1)[1]: a for a in await _assets(engine, job_id=job.id)}
    big, small, other = by_url["big.jpg"], by_url["small.jpg"], by_url["other.jpg"]
    assert big.duplicate_of is None and other.duplicate_of is None
    assert small.duplicate_of == big.id
    assert (big.width, big.height, small.width, small.height) == (800, 600, 640, 480)
    assert {s.source: s.duplicates for s in final.sources} == {"fake_a": 0, "fake_b": 1}
    assert small.to_dict()["duplicate_of"] == big.id
    assert duplicate_lines(final) == [
        "fake_b: 1 of its files is a near-duplicate of another source's"
        " (tuiapp export --unique skips them)"
    ]
    rows = {s.source: source_row(s) for s in final.sources}
    assert (rows["fake_a"][4], rows["fake_b"][4]) == ("", "1")  # the Dups column

    assert stored == {big.id: None, other.id: None, small.id: big.id}

    unique = await _assets(engine, job_id=job.id, unique=True)
    assert sorted(a.id for a in unique) == sorted([big.id, other.id])
    written = (await engine.export_job(job.id, None, tmp_path / "out", unique=True)).written
    assert sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in written) == sorted(
        [big.sha256, other.sha256]
    )
    assert len((await engine.export_job(job.id, None, tmp_path / "all")).written) == 3


async def test_a_better_copy_arriving_later_becomes_the_best(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    crop = encode(cropped(picture(3), 0.03), quality=70)  # 776x582
    scripted("fake_a", urls=[_serve(replay, "small", SMALL)])
    scripted("fake_b", urls=[_serve(replay, "crop", crop)])
    scripted("fake_c", urls=[_serve(replay, "big", BIG)])
    engine = await engine_factory()
    first = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
    await engine.wait(first.id, None)
    second = await engine.submit(JobSpec(query="q", sources=("fake_b",), count=1))
    await engine.wait(second.id, None)
    (small,) = await _assets(engine, job_id=first.id)
    (crop_asset,) = await _assets(engine, job_id=second.id)
    assert small.duplicate_of == crop_asset.id and crop_asset.duplicate_of is None

    third = await engine.submit(JobSpec(query="q", sources=("fake_c",), count=1))
    await engine.wait(third.id, None)
    (big,) = await _assets(engine, job_id=third.id)
    everything = {a.id: a.duplicate_of for a in await _assets(engine)}
    assert everything == {small.id: big.id, crop_asset.id: big.id, big.id: None}
    assert [a.id for a in await _assets(engine, unique=True)] == [big.id]

    await engine.delete_asset(big.id, None)  # the next best takes its place
    everything = {a.id: a.duplicate_of for a in await _assets(engine)}
    assert everything == {small.id: crop_asset.id, crop_asset.id: None}

    await engine.delete_job(second.id, None)  # the best copy's job goes: the next best again
    assert {a.id: a.duplicate_of for a in await _assets(engine)} == {small.id: None}


async def _job(storage: Storage, owner: int | None) -> int:
    info = await storage.create_job(
        JobSpec(query="q", sources=("picsum",), count=1), owner=owner, settings={}
    )
    return info.id


async def _store(
    storage: Storage, data: bytes, owner: int | None, *, url: str = "u", job: int | None = None
) -> AssetInfo:
    """Store a picture looked at as it is written (the engine's way for a file of one chunk)."""

    async def fingerprint_of(data: bytes) -> Fingerprint | None:
        return fingerprint(data)

    sink = storage.new_sink(owner)
    await sink.write(data)
    job_id = job if job is not None else await _job(storage, owner)
    await sink.fingerprint_with(fingerprint_of)
    stored = await sink.finish(
        mime="image/jpeg",
        asset=NewAsset(job_id=job_id, source="picsum", kind="image", url=url),
    )
    assert stored.fingerprinted
    asset = await storage.get_asset(stored.asset_id, owner)
    assert asset.duplicate_of == stored.duplicate_of
    return asset


async def test_two_libraries_never_mix(engine_factory: EngineFactory) -> None:
    storage = (await engine_factory()).storage
    alice, _ = await storage.create_user("alice")
    bob, _ = await storage.create_user("bob")
    mine = await _store(storage, BIG, alice.id)
    theirs = await _store(storage, SMALL, bob.id)
    guests = await _store(storage, SMALL, None)
    assert mine.duplicate_of is theirs.duplicate_of is guests.duplicate_of is None
    again = await _store(storage, SMALL, alice.id)
    assert again.duplicate_of == mine.id
    guests_again = await _store(storage, BIG, None)
    assert (await storage.get_asset(guests.id, None)).duplicate_of == guests_again.id
    assert (await storage.get_asset(theirs.id, bob.id)).duplicate_of is None


async def test_the_migration_applies_to_a_database_made_before_it(
    tmp_path: Path, engine_factory: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    old = Database(url)
    # Made as a version before 0005 made it: no snapshot of today's schema, migrations to 0004.
    monkeypatch.setattr("tuiapp.storage.schema.apply_snapshot", lambda db: None)
    old._migrate = lambda: MigrationExecutor(  # type: ignore[method-assign]
        old.conn(), {"models": old.config["apps"]["models"]}
    ).migrate([MigrationTarget(app_label="models", name="0004_cached_answer")])
    await old.open()
    conn, at = old.conn(), datetime.now(UTC)
    await conn.execute_query(
        "INSERT INTO job (query, count, options, settings, state, claims, cancel_requested,"
        " created_at) VALUES ('q', 2, '{}', '{}', 'done', 0, 0, ?)",
        [at],
    )
    for blob_id, data in enumerate([BIG, SMALL], start=1):
        await conn.execute_query(
            "INSERT INTO media_blob (id, owner_key, sha256, size, mime, complete, created_at)"
            " VALUES (?, 0, ?, ?, 'image/jpeg', 1, ?)",
            [blob_id, hashlib.sha256(data).hexdigest(), len(data), at],
        )
        await conn.execute_query(
            "INSERT INTO blob_chunk (blob_id, seq, data) VALUES (?, 0, ?)", [blob_id, data]
        )
        await conn.execute_query(
            "INSERT INTO asset (id, job_id, blob_id, source, kind, url, metadata, created_at)"
            " VALUES (?, 1, ?, 'picsum', 'image', 'u', '{}', ?)",
            [blob_id, blob_id, at],
        )
    await old.close()
    monkeypatch.undo()

    monkeypatch.setattr("tuiapp.engine.service.BACKFILL_DELAY", 0.0)
    engine = await engine_factory(database_url=url)
    assert engine.backfill is not None
    assert await engine.backfill == 2
    assert {a.id: a.duplicate_of for a in await _assets(engine)} == {1: None, 2: 1}
    assert engine.runtime.hasher is not None
    assert await backfill(engine.storage, engine.runtime.hasher) == 0  # nothing is hashed twice


async def test_groups_and_the_lookup_work_on_postgresql(
    postgres_url: str, replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=[_serve(replay, "big", BIG), _serve(replay, "other", OTHER)])
    scripted("fake_b", urls=[_serve(replay, "small", SMALL)])
    engine = await engine_factory(database_url=postgres_url)
    job = await engine.submit(JobSpec(query="q", sources=("fake_a", "fake_b"), count=2))
    final = await engine.wait(job.id, None)
    assert {s.source: s.duplicates for s in final.sources} == {"fake_a": 0, "fake_b": 1}
    by_url = {a.url.rsplit("/", 1)[1]: a for a in await _assets(engine, job_id=job.id)}
    big, small = by_url["big.jpg"], by_url["small.jpg"]
    assert small.duplicate_of == big.id and big.duplicate_of is None
    assert [a.id for a in await _assets(engine, unique=True)] == sorted(
        [big.id, by_url["other.jpg"].id]
    )

    storage = engine.storage  # a hash with its top bit set survives the signed BIGINT column
    top = (1 << 64) - 1 - 0b101
    await storage.set_fingerprint(small.id, None, Fingerprint(top, 640, 480, MAX_DISTANCE))
    await storage.set_fingerprint(big.id, None, Fingerprint(top ^ 0b11, 800, 600, MAX_DISTANCE))
    assert sorted(await storage.near_duplicates(None, top, MAX_DISTANCE)) == sorted(
        [big.id, small.id]
    )
    alice, _ = await storage.create_user("alice")
    assert await storage.near_duplicates(alice.id, top, MAX_DISTANCE) == []


def batch_sizes(writer: BlobWriter, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of operations in each transaction ``writer`` runs from here on, in order."""
    sizes: list[int] = []
    real_batch = writer._run_batch

    async def batch(ops: list[Any]) -> list[Any]:
        sizes.append(len(ops))
        return await real_batch(ops)

    monkeypatch.setattr(writer, "_run_batch", batch)
    return sizes


async def test_copies_fingerprinted_in_one_batch_meet_and_the_better_one_wins(
    engine_factory: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = (await engine_factory()).storage
    job = await _job(storage, None)
    ids = []
    for data, url in ((SMALL, "s"), (OTHER, "o"), (BIG, "b")):
        sink = storage.new_sink(None)
        await sink.write(data)
        asset = NewAsset(job_id=job, source="picsum", kind="image", url=url)
        ids.append((await sink.finish(mime="image/jpeg", asset=asset)).asset_id)
    small, other, big = ids
    writer = storage._writer
    batches = batch_sizes(writer, monkeypatch)
    # Queued together, the writer takes them in one transaction: the smaller copy first.
    answers = await asyncio.gather(
        *(
            storage.set_fingerprint(i, None, fingerprint(d))
            for i, d in zip(ids, (SMALL, OTHER, BIG), strict=False)
        )
    )
    assert batches == [3]
    assert answers == [big, None, None]
    everything = {a.id: a.duplicate_of for a in await storage.list_assets(None)}
    assert everything == {small: big, other: None, big: None}
    again = await _store(storage, SMALL, None, url="s2", job=job)  # same bytes, one more asset
    assert again.duplicate_of == big


async def test_copies_stored_in_one_batch_meet_and_the_better_one_wins(
    engine_factory: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = (await engine_factory()).storage
    job = await _job(storage, None)
    writer = storage._writer
    batches = batch_sizes(writer, monkeypatch)

    async def write(data: bytes, url: str) -> StoredAsset:
        return await writer.store_small(
            owner=None,
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            mime="image/jpeg",
            asset=NewAsset(job_id=job, source="picsum", kind="image", url=url),
            fingerprinting=Fingerprinting(fingerprinted=True, found=fingerprint(data)),
        )

    # Queued together, the writer takes them in one transaction: the smaller copy first.
    small, other, big = await asyncio.gather(write(SMALL, "s"), write(OTHER, "o"), write(BIG, "b"))
    assert batches == [3]
    assert (small.duplicate_of, other.duplicate_of, big.duplicate_of) == (big.asset_id, None, None)
    everything = {a.id: a.duplicate_of for a in await storage.list_assets(None)}
    assert everything == {small.asset_id: big.asset_id, other.asset_id: None, big.asset_id: None}


async def test_the_hashing_process_answers_and_comes_back_after_dying() -> None:
    hasher = HashProcess()
    try:
        found = await hasher.fingerprint(BIG)
        assert found == fingerprint(BIG) and found is not None
        assert (found.width, found.height) == (800, 600)
        assert await hasher.fingerprint(b"%PDF-1.4 not an image") is None
        proc = hasher._proc
        assert proc is not None
        proc.kill()
        await proc.wait()
        with contextlib.suppress(HashProcessError):  # the file in flight when it died may fail
            await hasher.fingerprint(SMALL)
        assert await hasher.fingerprint(SMALL) == fingerprint(SMALL)  # a new process answers
        assert hasher._proc is not proc

        async def pieces(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
            for start in range(0, len(data), size):
                yield data[start : start + size]

        assert await hasher.fingerprint_stream(len(BIG), pieces(BIG)) == fingerprint(BIG)
        proc = hasher._proc
        with pytest.raises(HashProcessError):  # a stored file shorter than it said
            await hasher.fingerprint_stream(len(BIG) + 10, pieces(BIG))
        assert await hasher.fingerprint(OTHER) == fingerprint(OTHER)  # in step again: a new process
        assert hasher._proc is not proc
    finally:
        await hasher.close()
    assert hasher._proc is None


async def test_a_picture_larger_than_a_chunk_is_read_back_and_announced_with_its_group(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    big_bmp = encode(picture(3), "BMP")  # 1.4 MB: more than one chunk
    assert len(big_bmp) > CHUNK_SIZE
    scripted("fake_a", urls=[_serve(replay, "small", SMALL)])
    scripted("fake_b", urls=[_serve(replay, "big", big_bmp)])
    engine = await engine_factory()
    first = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
    await engine.wait(first.id, None)
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_b",), count=1))
        final = await engine.wait(job.id, None)
        events = []
        while (event := sub.get_nowait()) is not None:
            if isinstance(event, AssetStored):
                events.append(event)
    assert final.state is JobState.DONE
    (small,) = await _assets(engine, job_id=first.id)
    (big,) = await _assets(engine, job_id=job.id)
    assert (big.width, big.height, big.duplicate_of) == (800, 600, None)
    assert (await engine.get_asset(small.id, None)).duplicate_of == big.id
    assert [(e.asset_id, e.duplicate_of) for e in events] == [(big.id, None)]


async def test_with_hashing_off_no_picture_is_looked_at(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=[_serve(replay, "big", BIG)])
    scripted("fake_b", urls=[_serve(replay, "small", SMALL)])
    engine = await engine_factory(near_duplicates=False)
    assert engine.backfill is None and engine.runtime.hasher is None
    job = await engine.submit(JobSpec(query="q", sources=("fake_a", "fake_b"), count=1))
    final = await engine.wait(job.id, None)
    assert final.state is JobState.DONE
    assert [a.duplicate_of for a in await _assets(engine)] == [None, None]
    # Turned on later: the pictures stored meanwhile are fingerprinted after start.
    assert len(await engine.storage.unhashed_images(10)) == 2
    hasher = HashProcess()
    try:
        assert await backfill(engine.storage, hasher) == 2
    finally:
        await hasher.close()
    assert sorted(a.duplicate_of is None for a in await _assets(engine)) == [False, True]


async def test_with_hashing_off_the_write_path_hook_is_a_no_op(
    engine_factory: EngineFactory,
) -> None:
    """Nothing is looked at and a stored file's event goes out as it was made, no detour."""
    engine = await engine_factory(near_duplicates=False)
    off = hook(engine.runtime)
    assert isinstance(off, NoNearDuplicates)
    seam: NearDuplicates = off
    assert seam.fingerprinter("image/png") is None
    published: list[object] = []
    engine.runtime.publish = published.append
    event = AssetStored(
        job_id=1, owner_id=None, source="a", asset_id=1, url="u", title=None, mime="image/png",
        size=1, sha256="0", deduplicated=False,
    )  # fmt: skip
    stored = StoredAsset(
        asset_id=1, blob_id=1, sha256="0", size=1, mime="image/png", deduplicated=False
    )
    hook(engine.runtime).announce(event, stored)
    assert published == [event] and published[0] is event
    await off.settle()


async def test_the_hashing_process_never_imports_code_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "tuiapp"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    (planted / "phash.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    hasher = HashProcess()
    try:
        assert await hasher.fingerprint(BIG) == fingerprint(BIG)
    finally:
        await hasher.close()
    assert not (tmp_path / "ran").exists()
