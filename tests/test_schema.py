"""A new SQLite database is made from the snapshot of the migrated schema, and is the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuiapp.config import sqlite_url
from tuiapp.storage import Storage
from tuiapp.storage.schema import _migrated, dump
from tuiapp.storage.schema_snapshot import MIGRATIONS

if TYPE_CHECKING:
    from pathlib import Path


async def test_a_new_database_from_the_snapshot_equals_one_the_migrations_made(
    tmp_path: Path,
) -> None:
    migrated = tmp_path / "migrated.db"
    await _migrated(migrated)
    statements, applied = dump(migrated)
    # Migrations newer than the snapshot run on top of it: it is their prefix, never otherwise.
    assert applied[: len(MIGRATIONS)] == list(MIGRATIONS)

    made = tmp_path / "new" / "tuiapp.db"
    storage = Storage(sqlite_url(made))
    await storage.open()
    try:
        user, _ = await storage.create_user("alice")  # the tables work through the ORM
        assert user.name == "alice"
    finally:
        await storage.close()
    assert dump(made) == (statements, applied)
