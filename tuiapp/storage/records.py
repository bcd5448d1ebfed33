"""Row helpers shared by the storage rooms: owner filters, chunk reads, blob removal, job counters.

Each is a few statements the rooms above (jobs, queue, assets, blobs, integrity) would otherwise
write twice. Nothing here starts a task or keeps state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tortoise.transactions import in_transaction

from tuiapp.errors import NotFoundError
from tuiapp.models import Asset, MediaBlob

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from tortoise.backends.base.client import BaseDBAsyncClient

    from tuiapp.storage.database import Database, Sql

CHUNK_SIZE = 1 << 20
"""Bytes per chunk row. Every chunk of a blob but the last has exactly this size."""

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def owner_q(owner: int | None) -> dict[str, Any]:
    """ORM filter arguments for rows of ``owner`` (None: a guest's)."""
    # A NULL owner is a guest; `owner_id=None` would compare with = NULL.
    return {"owner_id__isnull": True} if owner is None else {"owner_id": owner}


def parts(items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in slices of at most ``size`` (statements have a bound on parameters)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def read_chunks(db: Database, blob_id: int, start: int, stop: int) -> AsyncIterator[bytes]:
    """Bytes ``start``..``stop`` (exclusive) of a blob, one chunk row at a time."""
    conn = db.conn()
    pos = start
    while pos < stop:
        seq, skip = divmod(pos, CHUNK_SIZE)
        rows = await db.sql.rows(
            conn, "SELECT data FROM blob_chunk WHERE blob_id = ? AND seq = ?", [blob_id, seq]
        )
        if not rows:
            raise NotFoundError(f"blob {blob_id} lacks chunk {seq}")
        data = bytes(rows[0]["data"])
        piece = data[skip : skip + (stop - pos)]
        if not piece:
            break
        pos += len(piece)
        yield piece


async def drop_partial(sql: Sql, conn: BaseDBAsyncClient, blob_id: int) -> None:
    """Delete a partial blob and its chunks (in the caller's transaction); a complete one stays."""
    await sql.run(
        conn,
        "DELETE FROM blob_chunk WHERE blob_id = ? AND blob_id IN"
        " (SELECT id FROM media_blob WHERE complete = FALSE)",
        [blob_id],
    )
    await sql.run(conn, "DELETE FROM media_blob WHERE id = ? AND complete = FALSE", [blob_id])


async def discard_partial(db: Database, blob_id: int) -> None:
    """Delete a partial blob in a transaction of its own, bypassing the writer."""
    async with in_transaction() as conn:
        await drop_partial(db.sql, conn, blob_id)


async def collect(db: Database, blob_ids: set[int]) -> None:
    """Delete the blobs no asset points to any more (in the caller's transaction)."""
    for blob_id in blob_ids:
        if not await Asset.filter(blob_id=blob_id).exists():
            await db.sql.run(db.conn(), "DELETE FROM blob_chunk WHERE blob_id = ?", [blob_id])
            # Named here too: a blob id SQLite hands out again must not find an old thumbnail.
            await db.sql.run(db.conn(), "DELETE FROM thumbnail WHERE blob_id = ?", [blob_id])
            await MediaBlob.filter(id=blob_id).delete()


async def recount(db: Database, job_id: int) -> None:
    """Set each source's stored count and bytes of a job from what is really stored."""
    await db.sql.run(
        db.conn(),
        "UPDATE job_source SET stored = (SELECT count(*) FROM asset a"
        " WHERE a.job_id = job_source.job_id AND a.source = job_source.source),"
        " bytes = (SELECT coalesce(sum(b.size), 0) FROM asset a JOIN media_blob b"
        " ON b.id = a.blob_id WHERE a.job_id = job_source.job_id"
        " AND a.source = job_source.source) WHERE job_id = ?",
        [job_id],
    )
