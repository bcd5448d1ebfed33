"""The one blob writer: a task taking write operations from a bounded queue, many per commit.

SQLite's cost is per commit, so the writer groups the operations that are waiting (up to
``_BATCH_OPS``) into one transaction; a batch that fails is retried one operation at a time so
that one bad file does not fail its neighbours. Only :mod:`tuiapp.storage.blobs` feeds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from tuiapp.errors import FencedError
from tuiapp.storage.records import discard_partial, drop_partial, now, parts
from tuiapp.storage.rows import (
    NOT_FINGERPRINTED,
    Fingerprinting,
    NewAsset,
    insert_asset,
    insert_assets,
)
from tuiapp.storage.similar import group_new, write_fingerprints

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient

    from tuiapp.jobs import Fingerprint
    from tuiapp.storage.database import Database

__all__ = ["BlobWriter", "StoredAsset"]

_BATCH_OPS = 256
_CHUNKS_IN_FLIGHT = 2
"""Chunks of all files queued for the writer: one being written while the next waits, which
keeps the writer busy. More would only hold memory; with several large files at once, each
waits its turn (and its reads slow down meanwhile)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAsset:
    """What a finished file became: its asset, its blob, and whether the blob existed already."""

    asset_id: int
    blob_id: int
    sha256: str
    size: int
    mime: str
    deduplicated: bool
    fingerprinted: bool = False
    """Its pixels were looked at before it was written (a picture of one chunk, with a
    ``BlobSink.fingerprint_with``): its fingerprint and group were written with it."""
    duplicate_of: int | None = None
    """The best copy of the same picture in the owner's library, when this file is not it."""


# --- operations -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Op:
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _StoreSmall(_Op):
    owner: int | None
    sha256: str
    data: bytes | bytearray
    mime: str
    asset: NewAsset
    fingerprinting: Fingerprinting


@dataclass(slots=True)
class _Begin(_Op):
    owner: int | None


@dataclass(slots=True)
class _Chunk(_Op):
    blob_id: int
    seq: int
    data: bytes


@dataclass(slots=True)
class _Finish(_Op):
    blob_id: int
    owner: int | None
    sha256: str
    size: int
    mime: str
    asset: NewAsset


@dataclass(slots=True)
class _Abort(_Op):
    blob_id: int


@dataclass(slots=True)
class _Fingerprint(_Op):
    asset_id: int
    owner: int | None
    found: Fingerprint | None


class BlobWriter:
    """Owns the writer task; a sink calls the methods below, each one operation for the task."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[_Op] = asyncio.Queue(maxsize=64)
        self._chunk_slots = asyncio.Semaphore(_CHUNKS_IN_FLIGHT)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._write_loop(), name="tuiapp-blob-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- what a sink asks for -----------------------------------------------------------------

    async def store_small(
        self,
        *,
        owner: int | None,
        sha256: str,
        data: bytes | bytearray,
        mime: str,
        asset: NewAsset,
        fingerprinting: Fingerprinting = NOT_FINGERPRINTED,
    ) -> StoredAsset:
        """Write a file of at most one chunk: blob, chunk and asset in one transaction.

        A fingerprint found in its pixels is written with the asset and grouped with its
        near-duplicates in the same transaction (no second write of the row).
        """
        stored: StoredAsset = await self.submit(
            _StoreSmall,
            owner=owner,
            sha256=sha256,
            data=data,
            mime=mime,
            asset=asset,
            fingerprinting=fingerprinting,
        )
        return stored

    async def begin(self, owner: int | None) -> asyncio.Future[Any]:
        """Start a partial blob, invisible until :meth:`finish`.

        Returns:
            The future of its id, once queued: the blob is made even if the caller stops
            waiting, so a sink that is aborted meanwhile can still find and drop it.
        """
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Begin(fut, owner=owner))
        return fut

    async def chunk_slot(self) -> None:
        """Wait until one more chunk may be queued (at most ``_CHUNKS_IN_FLIGHT`` wait)."""
        await self._chunk_slots.acquire()

    def queue_chunk(self, blob_id: int, seq: int, data: bytes) -> asyncio.Future[Any]:
        """Queue a chunk once :meth:`chunk_slot` returned; the slot frees when it is written."""
        slots = self._chunk_slots
        queued = self.submit_nowait(_Chunk, blob_id=blob_id, seq=seq, data=data)
        queued.add_done_callback(lambda _: slots.release())
        return queued

    async def finish(
        self, *, blob_id: int, owner: int | None, sha256: str, size: int, mime: str, asset: NewAsset
    ) -> StoredAsset:
        """Make a partial blob complete (or drop it for an existing copy) and add its asset."""
        stored: StoredAsset = await self.submit(
            _Finish, blob_id=blob_id, owner=owner, sha256=sha256, size=size, mime=mime, asset=asset
        )
        return stored

    async def fingerprint(
        self, asset_id: int, owner: int | None, found: Fingerprint | None
    ) -> int | None:
        """Write a stored asset's fingerprint (None: no picture) and group it, many per commit.

        Returns:
            The best copy's asset id when this asset is a near-duplicate of it, else None.
        """
        best: int | None = await self.submit(
            _Fingerprint, asset_id=asset_id, owner=owner, found=found
        )
        return best

    async def discard(self, blob_id: int) -> None:
        """Delete a partial blob (directly when the writer is not running)."""
        if self._task is None:
            await discard_partial(self._db, blob_id)
        else:
            await self.submit(_Abort, blob_id=blob_id)
        await self._db.reclaim()

    # --- the queue ----------------------------------------------------------------------------

    def submit_nowait(self, op_type: type[_Op], **kwargs: Any) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        op = op_type(fut, **kwargs)
        # The queue is bounded; put() is used by the awaiting variant below for back-pressure.
        # Here the caller awaits the previous future first, so one extra op per sink is fine.
        try:
            self._queue.put_nowait(op)
        except asyncio.QueueFull:
            task = asyncio.ensure_future(self._queue.put(op))
            task.add_done_callback(lambda t: t.exception() and None)
        return fut

    async def submit(self, op_type: type[_Op], **kwargs: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(op_type(fut, **kwargs))
        return await fut

    async def _write_loop(self) -> None:
        while True:
            # No name here holds a batch while the queue is empty: its files' bytes (up to
            # _BATCH_OPS small files) go once written, not when the next operation comes.
            await self._write(await self._take())

    async def _take(self) -> list[_Op]:
        batch = [await self._queue.get()]
        while len(batch) < _BATCH_OPS and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def _write(self, batch: list[_Op]) -> None:
        """Run one batch and settle each operation's future."""
        try:
            results = await self._run_batch(batch)
        except Exception:
            # One bad op must not fail its neighbours: retry one by one.
            for op in batch:
                try:
                    (result,) = await self._run_batch([op])
                    if isinstance(result, FencedError):
                        raise result
                except Exception as exc:
                    if not op.future.done():
                        op.future.set_exception(exc)
                else:
                    if not op.future.done():
                        op.future.set_result(result)
        else:
            for op, result in zip(batch, results, strict=True):
                if op.future.done():
                    continue
                if isinstance(result, FencedError):
                    op.future.set_exception(result)
                else:
                    op.future.set_result(result)

    async def _run_batch(self, batch: list[_Op]) -> list[Any]:
        async with in_transaction() as conn:
            stale = await self._stale_claims(conn, batch)
            results: list[Any] = [None] * len(batch)
            live: list[tuple[int, _Op]] = []
            for index, op in enumerate(batch):
                asset = getattr(op, "asset", None)
                if asset is not None and asset.job_id in stale:
                    # Fenced: the job is another worker's now. Nothing of this file is kept.
                    if isinstance(op, _Finish):
                        await drop_partial(self._db.sql, conn, op.blob_id)
                    results[index] = FencedError(
                        f"job {asset.job_id} was claimed by another worker; {asset.url} not kept"
                    )
                else:
                    live.append((index, op))
            i = 0
            while i < len(live):
                j = i
                while j < len(live) and isinstance(live[j][1], _StoreSmall):
                    j += 1
                if j > i:
                    small = [op for _, op in live[i:j] if isinstance(op, _StoreSmall)]
                    for (index, _), result in zip(
                        live[i:j], await self._store_small(conn, small), strict=True
                    ):
                        results[index] = result
                    i = j
                else:
                    index, op = live[i]
                    results[index] = await self._apply(conn, op)
                    i += 1
            prints = [(i, op) for i, op in live if isinstance(op, _Fingerprint)]
            if prints:
                found = [(op.asset_id, op.owner, op.found) for _, op in prints]
                best = await write_fingerprints(self._db, conn, found)
                for index, op in prints:
                    results[index] = best.get(op.asset_id)
            return await self._group_stored(conn, batch, results)

    async def _group_stored(
        self, conn: BaseDBAsyncClient, batch: list[_Op], results: list[Any]
    ) -> list[Any]:
        """Group the pictures stored with their fingerprint in this batch, in its commit."""
        new = [
            (result.asset_id, op.owner, op.fingerprinting.found)
            for op, result in zip(batch, results, strict=True)
            if isinstance(op, _StoreSmall)
            and isinstance(result, StoredAsset)
            and op.fingerprinting.found is not None
        ]
        if not new:
            return results
        best = await group_new(self._db, conn, new)
        return [
            dataclasses.replace(r, duplicate_of=best[r.asset_id])
            if isinstance(r, StoredAsset) and r.asset_id in best
            else r
            for r in results
        ]

    async def _stale_claims(self, conn: BaseDBAsyncClient, batch: list[_Op]) -> set[int]:
        """Jobs among the batch's fenced assets that no longer carry the claim they were
        written under. The rows are locked until the batch commits (PostgreSQL), so a claim
        made meanwhile waits for it: the check and the writes are one step."""
        fences: dict[int, set[int]] = {}
        for op in batch:
            asset = getattr(op, "asset", None)
            if asset is not None and asset.fence is not None:
                fences.setdefault(asset.job_id, set()).add(asset.fence)
        if not fences:
            return set()
        sql = self._db.sql
        marks = ",".join("?" * len(fences))
        query = f"SELECT id, claims FROM job WHERE id IN ({marks})"
        if sql.postgres:
            query += " FOR SHARE"
        rows = await sql.rows(conn, query, list(fences))
        claims = {int(r["id"]): int(r["claims"]) for r in rows}
        return {
            job_id
            for job_id, wanted in fences.items()
            if claims.get(job_id) is None or wanted != {claims[job_id]}
        }

    # --- the SQL of each operation ------------------------------------------------------------

    async def _store_small(self, conn: BaseDBAsyncClient, ops: list[_StoreSmall]) -> list[Any]:
        """Store many one-chunk files with a handful of statements (one round trip is ~0.1 ms)."""
        sql = self._db.sql
        keys = {((op.owner or 0), op.sha256) for op in ops}
        blob_ids = await self._blob_ids(conn, keys)
        deduplicated = set(blob_ids)
        fresh: dict[tuple[int, str], _StoreSmall] = {}
        for op in ops:
            key = (op.owner or 0, op.sha256)
            if key not in blob_ids:
                fresh.setdefault(key, op)
        if fresh:
            at = now()
            for part in parts(list(fresh.items()), 500):
                await sql.run(
                    conn,
                    "INSERT INTO media_blob (owner_id, owner_key, sha256, size, mime, complete,"
                    " created_at) VALUES " + ",".join(["(?,?,?,?,?,TRUE,?)"] * len(part)),
                    [
                        v
                        for (key, op) in part
                        for v in (op.owner, key[0], op.sha256, len(op.data), op.mime, at)
                    ],
                )
            blob_ids.update(await self._blob_ids(conn, set(fresh)))
            await sql.many(
                conn,
                "INSERT INTO blob_chunk (blob_id, seq, data) VALUES (?,0,?)",
                [[blob_ids[key], sql.blob(op.data)] for key, op in fresh.items()],
            )
        asset_ids = await insert_assets(
            self._db,
            conn,
            [
                (op.owner, blob_ids[(op.owner or 0, op.sha256)], op.asset, op.fingerprinting)
                for op in ops
            ],
        )
        return [
            StoredAsset(
                asset_id=asset_id,
                blob_id=blob_ids[(op.owner or 0, op.sha256)],
                sha256=op.sha256,
                size=len(op.data),
                mime=op.mime,
                deduplicated=(op.owner or 0, op.sha256) in deduplicated
                or fresh.get((op.owner or 0, op.sha256)) is not op,
                fingerprinted=op.fingerprinting.fingerprinted,
            )
            for op, asset_id in zip(ops, asset_ids, strict=True)
        ]

    async def _blob_ids(
        self, conn: BaseDBAsyncClient, keys: set[tuple[int, str]]
    ) -> dict[tuple[int, str], int]:
        """Complete blobs among (owner_key, sha256) pairs -> their ids."""
        found: dict[tuple[int, str], int] = {}
        by_owner: dict[int, list[str]] = {}
        for owner_key, sha in keys:
            by_owner.setdefault(owner_key, []).append(sha)
        for owner_key, shas in by_owner.items():
            for part in parts(shas, 500):
                rows = await self._db.sql.rows(
                    conn,
                    "SELECT id, sha256 FROM media_blob WHERE complete = TRUE AND owner_key = ?"
                    f" AND sha256 IN ({','.join('?' * len(part))})",
                    [owner_key, *part],
                )
                found.update({(owner_key, row["sha256"]): row["id"] for row in rows})
        return found

    async def _apply(self, conn: BaseDBAsyncClient, op: _Op) -> Any:
        sql = self._db.sql
        if isinstance(op, _Begin):
            return await sql.insert(
                conn,
                "INSERT INTO media_blob (owner_id, owner_key, sha256, size, mime, complete,"
                " runner, created_at) VALUES (?,?,NULL,0,'application/octet-stream',FALSE,?,?)",
                [op.owner, op.owner or 0, self._db.runner, now()],
            )
        if isinstance(op, _Chunk):
            await sql.run(
                conn,
                "INSERT INTO blob_chunk (blob_id, seq, data) VALUES (?,?,?)",
                [op.blob_id, op.seq, op.data],
            )
            return None
        if isinstance(op, _Finish):
            existing, dedup = await self._existing(conn, op.owner, op.sha256)
            if existing is not None:
                await drop_partial(sql, conn, op.blob_id)
                blob_id = existing
            else:
                await sql.run(
                    conn,
                    "UPDATE media_blob SET sha256 = ?, size = ?, mime = ?, complete = TRUE,"
                    " runner = NULL WHERE id = ?",
                    [op.sha256, op.size, op.mime, op.blob_id],
                )
                blob_id = op.blob_id
            asset_id = await insert_asset(self._db, conn, op.owner, blob_id, op.asset)
            return StoredAsset(
                asset_id=asset_id,
                blob_id=blob_id,
                sha256=op.sha256,
                size=op.size,
                mime=op.mime,
                deduplicated=dedup,
            )
        if isinstance(op, _Abort):
            await drop_partial(sql, conn, op.blob_id)
            return None
        if isinstance(op, _Fingerprint):
            return None  # written with the batch's others by _run_batch (write_fingerprints)
        raise TypeError(f"unknown op {op!r}")

    async def _existing(
        self, conn: BaseDBAsyncClient, owner: int | None, sha256: str
    ) -> tuple[int | None, bool]:
        rows = await self._db.sql.rows(
            conn,
            "SELECT id FROM media_blob WHERE owner_key = ? AND sha256 = ? AND complete = TRUE",
            [owner or 0, sha256],
        )
        return (rows[0]["id"], True) if rows else (None, False)
