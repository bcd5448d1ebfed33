"""Near-duplicate pictures within one owner's library: hashes stored, groups and their best copy.

Every hashed asset keeps its 64-bit perceptual hash and the hash's four 16-bit quarters in
indexed columns. Two hashes within 3 bits share at least one quarter, so the candidates for a new
hash are the owner's rows that share a quarter (an indexed lookup however large the library);
their distance is checked here (4 to 6 bits apart: found when one quarter survives). A group
is every asset within the distance of a member; its best copy has the most pixels, then the
largest file, then came first; every other member's ``duplicate_of`` names it. Nothing is
deleted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from tuiapp.models import Asset
from tuiapp.storage.records import owner_q

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient

    from tuiapp.storage.database import Database

__all__ = ["SimilarStore", "Unhashed", "quarters", "signed", "unsigned"]

_BIT64 = 1 << 64
_ROW = ("id", "width", "height", "blob__size", "created_at", "duplicate_of")

# One indexed lookup per quarter. The owner is compared through COALESCE so that no database
# picks the owner's index instead: a library is one owner's, its index selects every row.
_NEAR = " UNION ALL ".join(
    f"SELECT id, phash, duplicate_of FROM asset WHERE q{i} = ? AND COALESCE(owner_id, 0) = ?"
    for i in range(4)
)


def signed(value: int) -> int:
    """A 64-bit hash as the signed integer a BIGINT column holds."""
    return value - _BIT64 if value >= 1 << 63 else value


def unsigned(value: int) -> int:
    return value + _BIT64 if value < 0 else value


def quarters(value: int) -> tuple[int, int, int, int]:
    """The four 16-bit quarters of a 64-bit hash, high to low."""
    return (value >> 48) & 0xFFFF, (value >> 32) & 0xFFFF, (value >> 16) & 0xFFFF, value & 0xFFFF


@dataclass(frozen=True, slots=True)
class Unhashed:
    """A stored picture whose hash was never tried (made before hashing, or cut off)."""

    asset_id: int
    owner_id: int | None
    sha256: str
    size: int


def _rank(row: dict[str, Any]) -> tuple[int, int, float, int]:
    pixels = (row["width"] or 0) * (row["height"] or 0)
    created = row["created_at"].timestamp() if row["created_at"] is not None else 0.0
    return pixels, row["blob__size"] or 0, -created, -row["id"]


class SimilarStore:
    """The hash columns of ``asset``; groups are kept per owner (guests: the NULL owner)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        """One regrouping at a time in this process, so two copies arriving together meet."""

    async def set_phash(
        self,
        asset_id: int,
        owner: int | None,
        phash: int | None,
        *,
        max_distance: int,
        width: int | None = None,
        height: int | None = None,
    ) -> int | None:
        """Store an asset's hash (None: not a picture) and regroup its near-duplicates.

        Two hashes at most ``max_distance`` bits apart are one picture (the hash's owner, the
        engine, knows how far that is); beyond 3 bits a match is found when one quarter survives.

        ``width`` and ``height``, the decoded picture's own size, replace what the source said.

        Returns:
            The best copy's asset id when this asset is a near-duplicate of it, else None.
        """
        async with self._lock, in_transaction() as conn:
            values: dict[str, Any] = {"hashed": True}
            if width and height:
                values |= {"width": width, "height": height}
            if phash is not None:
                q = quarters(phash)
                values |= {"phash": signed(phash), "q0": q[0], "q1": q[1], "q2": q[2], "q3": q[3]}
            updated = (
                await Asset.filter(id=asset_id, **owner_q(owner)).using_db(conn).update(**values)
            )
            if not updated or phash is None:
                return None
            roots = {
                c["duplicate_of"] or c["id"]
                for c in await self._near(conn, owner, phash, max_distance)
                if c["id"] != asset_id
            }
            if not roots:
                return None
            members = (
                await Asset.filter(**owner_q(owner))
                .filter(Q(id__in=[*roots, asset_id]) | Q(duplicate_of__in=roots))
                .using_db(conn)
                .values(*_ROW)
            )
            best = max(members, key=_rank)["id"]
            others = [m["id"] for m in members if m["id"] != best]
            await Asset.filter(id__in=others).using_db(conn).update(duplicate_of=best)
            await Asset.filter(id=best).using_db(conn).update(duplicate_of=None)
            return None if best == asset_id else int(best)

    async def near(self, owner: int | None, phash: int, max_distance: int) -> list[int]:
        """The owner's assets whose hash is at most ``max_distance`` bits from ``phash``."""
        return [r["id"] for r in await self._near(self._db.conn(), owner, phash, max_distance)]

    async def _near(
        self, conn: BaseDBAsyncClient, owner: int | None, phash: int, max_distance: int
    ) -> list[dict[str, Any]]:
        values: list[Any] = []
        for quarter in quarters(phash):
            values += [quarter, owner or 0]  # user ids start at 1; 0 is the guests'
        rows = await self._db.sql.rows(conn, _NEAR, values)
        seen: dict[int, dict[str, Any]] = {}
        for row in rows:
            if (unsigned(int(row["phash"])) ^ phash).bit_count() <= max_distance:
                seen[int(row["id"])] = row
        return list(seen.values())

    async def regroup_without(self, owner: int | None, asset_id: int) -> None:
        """After the best copy ``asset_id`` went, the next best of its group takes its place."""
        async with self._lock, in_transaction() as conn:
            members = (
                await Asset.filter(**owner_q(owner), duplicate_of=asset_id)
                .using_db(conn)
                .values(*_ROW)
            )
            if not members:
                return
            best = max(members, key=_rank)["id"]
            others = [m["id"] for m in members if m["id"] != best]
            await Asset.filter(id__in=others).using_db(conn).update(duplicate_of=best)
            await Asset.filter(id=best).using_db(conn).update(duplicate_of=None)

    async def unhashed(self, limit: int) -> list[Unhashed]:
        """Up to ``limit`` stored pictures, of any owner, whose hash was never tried."""
        rows = (
            await Asset.filter(Q(hashed=False) | Q(hashed__isnull=True), kind="image")
            .order_by("id")
            .limit(limit)
            .values("id", "owner_id", "blob__sha256", "blob__size")
        )
        return [
            Unhashed(r["id"], r["owner_id"], r["blob__sha256"] or "", r["blob__size"] or 0)
            for r in rows
        ]

    async def duplicates(self, job_ids: list[int]) -> dict[tuple[int, str], int]:
        """Per job and source: its files whose best copy came from another source."""
        rows = await Asset.filter(job_id__in=job_ids, duplicate_of__isnull=False).values(
            "job_id", "source", "duplicate_of"
        )
        if not rows:
            return {}
        best = dict(
            await Asset.filter(id__in={r["duplicate_of"] for r in rows}).values_list("id", "source")
        )
        counts: dict[tuple[int, str], int] = {}
        for r in rows:
            if best.get(r["duplicate_of"], r["source"]) != r["source"]:
                key = (r["job_id"], r["source"])
                counts[key] = counts.get(key, 0) + 1
        return counts
