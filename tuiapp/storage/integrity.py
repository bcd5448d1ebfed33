"""The integrity report for tests and drills: blob hashes, orphan chunks, SQLite's own check."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from tuiapp.models import MediaBlob
from tuiapp.storage.records import read_chunks

if TYPE_CHECKING:
    from tuiapp.storage.database import Database

__all__ = ["integrity_report"]


async def integrity_report(db: Database) -> dict[str, Any]:
    """Read back every complete blob and count what should not exist.

    Returns:
        ``bad_blobs`` (ids whose bytes do not match their sha256 or size), ``orphan_chunks``,
        ``partial_blobs`` and ``integrity_check`` (SQLite's ``PRAGMA integrity_check``; "ok"
        on PostgreSQL).
    """
    conn = db.conn()
    bad: list[int] = []
    for blob in await MediaBlob.filter(complete=True).only("id", "sha256", "size"):
        digest = hashlib.sha256()
        size = 0
        async for piece in read_chunks(db, blob.id, 0, blob.size):
            digest.update(piece)
            size += len(piece)
        if digest.hexdigest() != blob.sha256 or size != blob.size:
            bad.append(blob.id)
    orphans = await db.sql.rows(
        conn,
        "SELECT count(*) AS n FROM blob_chunk WHERE blob_id NOT IN (SELECT id FROM media_blob)",
        [],
    )
    partial = await db.sql.rows(
        conn, "SELECT count(*) AS n FROM media_blob WHERE complete = FALSE", []
    )
    check = "ok"
    if not db.sql.postgres:
        _, rows = await conn.execute_query("PRAGMA integrity_check", [])
        check = str(rows[0][0])
    return {
        "bad_blobs": bad,
        "orphan_chunks": int(orphans[0]["n"]),
        "partial_blobs": int(partial[0]["n"]),
        "integrity_check": check,
    }
