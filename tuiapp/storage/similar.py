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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from tuiapp.errors import NotFoundError
from tuiapp.models import Asset
from tuiapp.storage.records import owner_q, parts

if TYPE_CHECKING:
    from collections.abc import Collection

    from tortoise.backends.base.client import BaseDBAsyncClient

    from tuiapp.jobs import Fingerprint
    from tuiapp.storage.database import Database

__all__ = [
    "SimilarStore",
    "Unhashed",
    "group_new",
    "hash_values",
    "quarters",
    "signed",
    "unsigned",
    "write_fingerprints",
]

_BIT64 = 1 << 64
_MEMBER = (
    "SELECT a.id, a.width, a.height, a.duplicate_of, COALESCE(a.owner_id, 0) AS owner,"
    " b.size FROM asset a LEFT JOIN media_blob b ON b.id = a.blob_id WHERE "
)
_FLAT_QUARTERS = frozenset({0x0000, 0xFFFF})
_LOCK = 0x7475_6961  # the advisory lock space of near-duplicate groups (PostgreSQL), per owner


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


def _rank(row: dict[str, Any]) -> tuple[int, int, int]:
    """Most pixels, then the largest file, then the first stored (ids only grow)."""
    return (row["width"] or 0) * (row["height"] or 0), row["size"] or 0, -row["id"]


async def _members(
    db: Database,
    conn: BaseDBAsyncClient,
    owner: int | None,
    ids: Collection[int],
    *,
    duplicates_of: Collection[int] = (),
) -> list[dict[str, Any]]:
    """The owner's assets among ``ids`` or pointing at one of ``duplicates_of`` (each part
    an indexed lookup; the owner is compared here)."""
    found: dict[int, dict[str, Any]] = {}
    for column, values in (("id", ids), ("duplicate_of", duplicates_of)):
        for part in parts(sorted(values), 500):
            query = _MEMBER + f"a.{column} IN ({','.join('?' * len(part))})"
            for row in await db.sql.rows(conn, query, part):
                if int(row["owner"]) == (owner or 0):
                    found[int(row["id"])] = row
    return list(found.values())


async def group_new(
    db: Database, conn: BaseDBAsyncClient, new: list[tuple[int, int | None, Fingerprint]]
) -> dict[int, int]:
    """Group assets just written with their hash in ``conn``'s transaction (the writer's batch).

    One query per owner finds which of them have a near-duplicate at all (usually none); for
    those, one more loads every group they touch, the groups are settled in memory in the
    batch's order (a better copy later in the batch takes the earlier ones), and one statement
    writes every change. On PostgreSQL the owner's groups are locked until the commit, so two
    workers storing copies of one picture at once see each other (the second one waits).

    Returns:
        Asset id -> its best copy's id, for those that are a near-duplicate of another.
    """
    by_owner: dict[int | None, list[tuple[int, Fingerprint]]] = {}
    for asset_id, owner, found in new:
        by_owner.setdefault(owner, []).append((asset_id, found))
    best_of: dict[int, int] = {}
    changes: dict[int, int | None] = {}
    for owner in sorted(by_owner, key=lambda o: o or 0):  # one lock order: no deadlock
        items = by_owner[owner]
        if db.sql.postgres:
            await db.sql.rows(conn, "SELECT pg_advisory_xact_lock(?, ?)", [_LOCK, owner or 0])
        known = await _sharing_a_quarter(db, conn, owner, [f.phash for _, f in items])
        neighbours: dict[int, set[int]] = {}
        for asset_id, found in items:
            near = _within(known, found.phash, found.near) - {asset_id}
            if near:
                neighbours[asset_id] = near
        if not neighbours:
            continue
        involved = set(neighbours).union(*neighbours.values())
        roots = {r["duplicate_of"] or r["id"] for r in await _members(db, conn, owner, involved)}
        state = {
            int(r["id"]): dict(r)
            for r in await _members(db, conn, owner, involved | roots, duplicates_of=roots)
        }
        for asset_id, near in neighbours.items():
            if asset_id not in state:
                continue  # deleted meanwhile
            group = {state[c]["duplicate_of"] or c for c in near if c in state} | {asset_id}
            members = [m for m in state.values() if m["id"] in group or m["duplicate_of"] in group]
            best = int(max(members, key=_rank)["id"])
            for m in members:
                wanted = None if m["id"] == best else best
                if m["duplicate_of"] != wanted:
                    m["duplicate_of"] = changes[int(m["id"])] = wanted
        best_of |= {
            i: int(state[i]["duplicate_of"])
            for i in neighbours
            if i in state and state[i]["duplicate_of"] is not None
        }
    for part in parts(list(changes.items()), 300):
        await db.sql.run(
            conn,
            "UPDATE asset SET duplicate_of = CASE id"
            + " WHEN ? THEN CAST(? AS INTEGER)" * len(part)
            + f" END WHERE id IN ({','.join('?' * len(part))})",
            [v for pair in part for v in pair] + [i for i, _ in part],
        )
    return best_of


async def write_fingerprints(
    db: Database, conn: BaseDBAsyncClient, items: list[tuple[int, int | None, Fingerprint | None]]
) -> dict[int, int]:
    """Write stored assets' fingerprints (None: no picture) in one statement, then group them.

    Returns:
        Asset id -> its best copy's id, for those that are a near-duplicate of another.
    """
    await db.sql.many(
        conn,
        "UPDATE asset SET hashed = TRUE, phash = ?, q0 = ?, q1 = ?, q2 = ?, q3 = ?,"
        " width = COALESCE(?, width), height = COALESCE(?, height)"
        " WHERE id = ? AND COALESCE(owner_id, 0) = ?",
        [[*hash_values(found), asset_id, owner or 0] for asset_id, owner, found in items],
    )
    pictures = [(i, owner, found) for i, owner, found in items if found is not None]
    return await group_new(db, conn, pictures)


async def _sharing_a_quarter(
    db: Database,
    conn: BaseDBAsyncClient,
    owner: int | None,
    hashes: list[int],
    *,
    skip_flat: bool = True,
) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """The owner's hashed assets sharing a quarter with any of ``hashes``, by (place, quarter).

    One indexed lookup per quarter. The owner is compared through COALESCE so that no database
    picks the owner's index instead: a library is one owner's, its index selects every row.
    With ``skip_flat`` a flat quarter (0x0000 or 0xFFFF: a plain band of the picture) is not
    looked up: many unrelated pictures share it, and loading them all would cost the writer's
    batch. A match that shares nothing else is missed (never a wrong group).
    """
    flat = _FLAT_QUARTERS if skip_flat else frozenset()
    found: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for part in parts(hashes, 200):
        values: list[Any] = []
        selects = []
        for place in range(4):
            wanted = sorted({quarters(h)[place] for h in part} - flat)
            if not wanted:
                continue
            selects.append(
                f"SELECT {place} AS place, id, phash, q{place} AS quarter FROM asset"
                f" WHERE q{place} IN ({','.join('?' * len(wanted))}) AND COALESCE(owner_id, 0) = ?"
            )
            values += [*wanted, owner or 0]
        if not selects:
            continue
        for row in await db.sql.rows(conn, " UNION ALL ".join(selects), values):
            entry = (int(row["id"]), unsigned(int(row["phash"])))
            found.setdefault((int(row["place"]), int(row["quarter"])), []).append(entry)
    return found


def _within(
    known: dict[tuple[int, int], list[tuple[int, int]]], phash: int, distance: int
) -> set[int]:
    """The ids among ``known`` (from :func:`_sharing_a_quarter`) at most ``distance`` bits away."""
    return {
        row_id
        for place, quarter in enumerate(quarters(phash))
        for row_id, other in known.get((place, quarter), ())
        if (other ^ phash).bit_count() <= distance
    }


def hash_values(found: Fingerprint | None) -> list[Any]:
    """phash, q0..q3, width and height as the asset columns hold them (NULLs: no picture)."""
    if found is None:
        return [None] * 7
    return [signed(found.phash), *quarters(found.phash), found.width, found.height]


class SimilarStore:
    """Lookups and regrouping on the hash columns of ``asset`` (written by the writer).

    Groups are kept per owner (guests: the NULL owner).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def near(self, owner: int | None, phash: int, max_distance: int) -> list[int]:
        """The owner's assets whose hash is at most ``max_distance`` bits from ``phash`` (flat
        quarters looked up too: this is a lookup, not a grouping)."""
        conn = self._db.conn()
        known = await _sharing_a_quarter(self._db, conn, owner, [phash], skip_flat=False)
        return sorted(_within(known, phash, max_distance))

    async def nearest(self, owner: int | None, asset_id: int, max_distance: int) -> list[int]:
        """The owner's other pictures within ``max_distance`` bits of asset ``asset_id``'s hash,
        nearest first (then oldest); empty when that asset has no hash.

        Raises:
            NotFoundError: the owner has no such asset.
        """
        row = await Asset.get_or_none(id=asset_id, **owner_q(owner)).values("phash")
        if row is None:
            raise NotFoundError(f"no asset {asset_id}")
        if row["phash"] is None:
            return []
        phash = unsigned(int(row["phash"]))
        conn = self._db.conn()
        known = await _sharing_a_quarter(self._db, conn, owner, [phash], skip_flat=False)
        distance = {
            row_id: (other ^ phash).bit_count()
            for place, quarter in enumerate(quarters(phash))
            for row_id, other in known.get((place, quarter), ())
        }
        found = [i for i, d in distance.items() if d <= max_distance and i != asset_id]
        return sorted(found, key=lambda i: (distance[i], i))

    async def regroup_without(self, owner: int | None, asset_id: int) -> None:
        """After the best copy ``asset_id`` went, the next best of its group takes its place."""
        async with in_transaction() as conn:
            if self._db.sql.postgres:
                await self._db.sql.rows(
                    conn, "SELECT pg_advisory_xact_lock(?, ?)", [_LOCK, owner or 0]
                )
            members = await _members(self._db, conn, owner, (), duplicates_of={asset_id})
            if members:
                best = int(max(members, key=_rank)["id"])
                await self._db.sql.run(
                    conn,
                    "UPDATE asset SET duplicate_of = CASE WHEN id = ? THEN NULL"
                    " ELSE CAST(? AS INTEGER) END WHERE duplicate_of = ?",
                    [best, best, asset_id],
                )

    async def bests_in_job(self, job_id: int) -> list[int]:
        """The job's assets that files of other jobs name as their best copy."""
        rows = await self._db.sql.rows(
            self._db.conn(),
            "SELECT DISTINCT a.duplicate_of AS id FROM asset a WHERE a.job_id <> ?"
            " AND a.duplicate_of IN (SELECT b.id FROM asset b WHERE b.job_id = ?)",
            [job_id, job_id],
        )
        return [int(r["id"]) for r in rows]

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
