"""What an owner's library holds already, asked before a new-only job fetches (or keeps) a file.

Three questions, each one indexed lookup: the same item of the same source (its key, see
``Asset.item_key``), the same bytes (``media_blob``'s unique owner and sha256), and, for
pictures, a near-duplicate (:mod:`.similar`'s hash quarters, asked through the facade).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuiapp.storage.records import parts

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tuiapp.storage.database import Database

__all__ = ["KnownStore"]


class KnownStore:
    """Lookups on ``asset.(source, item_key)`` and ``media_blob.(owner_key, sha256)``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def known_items(self, owner: int | None, source: str, keys: Iterable[str]) -> set[str]:
        """The ``keys`` the owner's library holds a file of, for ``source``."""
        db = self._db
        found: set[str] = set()
        for part in parts(sorted(set(keys)), 200):
            rows = await db.sql.rows(
                db.conn(),
                "SELECT DISTINCT item_key FROM asset WHERE source = ?"
                f" AND item_key IN ({','.join('?' * len(part))}) AND COALESCE(owner_id, 0) = ?",
                [source, *part, owner or 0],
            )
            found |= {str(r["item_key"]) for r in rows}
        return found

    async def holds_bytes(self, owner: int | None, sha256: str) -> bool:
        """Whether the owner's library holds a complete file with these bytes."""
        db = self._db
        rows = await db.sql.rows(
            db.conn(),
            "SELECT id FROM media_blob WHERE owner_key = ? AND sha256 = ? AND complete = TRUE",
            [owner or 0, sha256],
        )
        return bool(rows)
