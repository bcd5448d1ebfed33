"""The asset rows the writer inserts: the INSERT, its values (with a picture's fingerprint when
it was looked at before its commit), and many rows at once matched back to their files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError

from tuiapp.jobs import MediaFacts
from tuiapp.storage.records import now, parts
from tuiapp.storage.similar import hash_values

if TYPE_CHECKING:
    from datetime import datetime

    from tortoise.backends.base.client import BaseDBAsyncClient

    from tuiapp.jobs import Fingerprint
    from tuiapp.storage.database import Database

__all__ = ["NOT_FINGERPRINTED", "Fingerprinting", "NewAsset", "insert_asset", "insert_assets"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAsset(MediaFacts):
    """An asset row to write once its blob is complete."""

    job_id: int
    source: str
    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)
    item_key: str | None = None
    """Which item of its source the file is (see ``Asset.item_key``)."""
    fence: int | None = None
    """The claim this worker holds the job by: the asset is written only while the job still
    carries it (None: the job is not from the shared queue)."""


@dataclass(frozen=True, slots=True)
class Fingerprinting:
    """What looking at a file's pixels before it was written found, for its asset row."""

    fingerprinted: bool = False
    found: Fingerprint | None = None
    """None: no picture (or not looked at)."""


NOT_FINGERPRINTED = Fingerprinting()
_ROW_MARKS = "(" + ",".join("?" * 23) + ")"
_INSERT_ASSET = (
    "INSERT INTO asset (job_id, owner_id, blob_id, source, kind, url, page_url, title, author,"
    " author_url, license, thumbnail_url, metadata, created_at, hashed,"
    " phash, q0, q1, q2, q3, width, height, item_key) VALUES " + _ROW_MARKS
)


def _asset_values(
    owner: int | None, blob_id: int, a: NewAsset, at: datetime, fingerprinting: Fingerprinting
) -> list[Any]:
    phash, q0, q1, q2, q3, width, height = hash_values(fingerprinting.found)
    return [
        a.job_id, owner, blob_id, a.source, a.kind, a.url, a.page_url, a.title, a.author,
        a.author_url, a.license, a.thumbnail_url, json.dumps(a.metadata), at,
        fingerprinting.fingerprinted,
        phash, q0, q1, q2, q3, width or a.width, height or a.height, a.item_key,
    ]  # fmt: skip


async def insert_asset(
    db: Database,
    conn: BaseDBAsyncClient,
    owner: int | None,
    blob_id: int,
    a: NewAsset,
    fingerprinting: Fingerprinting = NOT_FINGERPRINTED,
) -> int:
    return await db.sql.insert(
        conn, _INSERT_ASSET, _asset_values(owner, blob_id, a, now(), fingerprinting)
    )


async def insert_assets(
    db: Database,
    conn: BaseDBAsyncClient,
    rows: list[tuple[int | None, int, NewAsset, Fingerprinting]],
) -> list[int]:
    """Insert assets; their ids in the order given.

    A multi-row INSERT ... RETURNING answers in no promised order, so rows are matched back
    by (job, source, URL); a batch holding the same three twice fails, and the writer then
    retries its operations one by one.
    """
    if len(rows) == 1:
        owner, blob_id, asset, fingerprinting = rows[0]
        return [await insert_asset(db, conn, owner, blob_id, asset, fingerprinting)]
    ids: list[int] = []
    for part in parts(rows, 200):
        placeholders = ",".join([_ROW_MARKS] * len(part))
        values: list[Any] = []
        at = now()
        for owner, blob_id, a, fingerprinting in part:
            values += _asset_values(owner, blob_id, a, at, fingerprinting)
        returned = await db.sql.rows(
            conn,
            _INSERT_ASSET.split(" VALUES ", 1)[0]
            + " VALUES "
            + placeholders
            + " RETURNING id, job_id, source, url",
            values,
        )
        by_key = {(r["job_id"], r["source"], r["url"]): r["id"] for r in returned}
        if len(by_key) != len(part):
            raise IntegrityError("a batch held the same job, source and URL twice")
        ids += [by_key[(a.job_id, a.source, a.url)] for _, _, a, _ in part]
    return ids
