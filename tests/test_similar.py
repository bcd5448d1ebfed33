"""Near-duplicate pictures: the hash, groups per owner with their best copy, unique lists and
exports, the per-source count, and the migration on a database made before it."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.fake_sources import Script
from tests.photos import cropped, encode, picture, resized
from tests.replay import ReplayServer, Reply
from tuiapp.engine import Engine
from tuiapp.engine.phash import MAX_DISTANCE, fingerprint, hamming, phash
from tuiapp.engine.similar import backfill, hash_asset
from tuiapp.events import AssetStored
from tuiapp.jobs import AssetInfo, JobSpec, JobState
from tuiapp.storage import NewAsset, Storage
from tuiapp.storage.database import Database

if TYPE_CHECKING:
    from pathlib import Path

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


def _serve(replay: ReplayServer, name: str, body: bytes) -> str:
    replay.add(f"/{name}.jpg", Reply(body, content_type="image/jpeg"))
    return replay.url(f"/{name}.jpg")


async def _assets(engine: Engine, owner: int | None = None, **kw: object) -> list[AssetInfo]:
    return await engine.list_assets(owner, **kw)  # type: ignore[arg-type]


async def test_a_recompressed_smaller_copy_from_another_source_points_to_the_bigger(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted, tmp_path: Path
) -> None:
    scripted("fake_a", urls=[_serve(replay, "big", BIG), _serve(replay, "other", OTHER)])
    scripted("fake_b", urls=[_serve(replay, "small", SMALL)])
    engine = await engine_factory()
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a", "fake_b"), count=2))
        final = await engine.wait(job.id, None)
        stored: dict[int, int | None] = {}
        while (event := sub.get_nowait()) is not None:
            if isinstance(event, AssetStored):
                stored[event.asset_id] = event.duplicate_of
    assert final.state is JobState.DONE
    by_url = {a.url.rsplit("/", 1)[1]: a for a in await _assets(engine, job_id=job.id)}
    big, small, other = by_url["big.jpg"], by_url["small.jpg"], by_url["other.jpg"]
    assert big.duplicate_of is None and other.duplicate_of is None
    assert small.duplicate_of == big.id
    assert (big.width, big.height, small.width, small.height) == (800, 600, 640, 480)
    assert {s.source: s.duplicates for s in final.sources} == {"fake_a": 0, "fake_b": 1}
    assert small.to_dict()["duplicate_of"] == big.id

    assert stored == {big.id: None, other.id: None, small.id: big.id}

    unique = await _assets(engine, job_id=job.id, unique=True)
    assert sorted(a.id for a in unique) == sorted([big.id, other.id])
    written = await engine.export_job(job.id, None, tmp_path / "out", unique=True)
    assert sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in written) == sorted(
        [big.sha256, other.sha256]
    )
    assert len(await engine.export_job(job.id, None, tmp_path / "all")) == 3


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


async def _job(storage: Storage, owner: int | None) -> int:
    info = await storage.create_job(
        JobSpec(query="q", sources=("picsum",), count=1), owner=owner, settings={}
    )
    return info.id


async def _store(storage: Storage, data: bytes, owner: int | None) -> AssetInfo:
    sink = storage.new_sink(owner)
    await sink.write(data)
    stored = await sink.finish(
        mime="image/jpeg",
        asset=NewAsset(job_id=await _job(storage, owner), source="picsum", kind="image", url="u"),
    )
    await hash_asset(storage, stored.asset_id, owner, stored.sha256, stored.size)
    return await storage.get_asset(stored.asset_id, owner)


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
    tmp_path: Path, engine_factory: EngineFactory
) -> None:
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    old = Database(url)
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

    engine = await engine_factory(database_url=url)
    assert engine.backfill is not None
    assert await engine.backfill == 2
    assert {a.id: a.duplicate_of for a in await _assets(engine)} == {1: None, 2: 1}
    assert await backfill(engine.storage) == 0  # nothing is hashed twice


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
    await storage.set_phash(small.id, None, top, max_distance=MAX_DISTANCE)
    await storage.set_phash(big.id, None, top ^ 0b11, max_distance=MAX_DISTANCE)
    assert sorted(await storage.near_duplicates(None, top, MAX_DISTANCE)) == [big.id, small.id]
    alice, _ = await storage.create_user("alice")
    assert await storage.near_duplicates(alice.id, top, MAX_DISTANCE) == []
