"""A new SQLite database made in one go from a snapshot of the migrated schema.

Replaying the migrations on a new database builds the ORM's model state migration by migration:
~10 MB at the peak of the process's memory (a first `tuiapp get` peaked at 62 MB for three
pictures, 50 MB on the next run). A new file gets instead the statements the migrations left in
``sqlite_master`` and their rows in the migration table, written by ``python -m
tuiapp.storage.schema`` into :mod:`tuiapp.storage.schema_snapshot`. Migrations newer than the
snapshot still run through the ORM's executor (they are not in its table); a test checks that a
database made from the snapshot equals one the migrations made.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path

__all__ = ["apply_snapshot", "dump", "main"]

_RECORDS = "tortoise_migrations"
"""The ORM's table of applied migrations."""
_APPLIED_AT = "2026-12-07 00:00:00+00:00"
_MIGRATION_ROWS = ("search_fill",)
"""Tables whose rows a migration writes (not the ORM's): the snapshot carries them too."""


def apply_snapshot(db: sqlite3.Connection) -> None:
    """Make the schema of the snapshot in an empty database, in one transaction."""
    from tuiapp.storage.schema_snapshot import MIGRATIONS, STATEMENTS

    with db:
        for statement in STATEMENTS:
            db.execute(statement)
        db.executemany(
            f"INSERT INTO {_RECORDS} (app, name, applied_at) VALUES (?, ?, ?)",
            [(app, name, _APPLIED_AT) for app, name in MIGRATIONS],
        )


def dump(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The schema statements of the SQLite database at ``path`` and its applied migrations."""
    db = sqlite3.connect(path)
    try:
        # A virtual table (full-text search) makes its shadow tables itself.
        shadow = {name for _, name, kind, *_ in db.execute("PRAGMA table_list") if kind == "shadow"}
        statements = [
            sql
            for name, sql in db.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
                " AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
            if name not in shadow
        ]
        # Rows a migration writes into a table of its own (the search index's fill mark).
        for table in _MIGRATION_ROWS:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            quoted = " || ',' || ".join(f'quote("{c}")' for c in columns)
            for (values,) in db.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid'):
                statements.append(f'INSERT INTO "{table}" VALUES ({values})')
        applied = [
            (str(app), str(name))
            for app, name in db.execute(f"SELECT app, name FROM {_RECORDS} ORDER BY id")
        ]
    finally:
        db.close()
    return statements, applied


async def _migrated(path: Path) -> None:
    from tortoise import Tortoise

    from tuiapp.config import sqlite_url
    from tuiapp.storage.database import Database

    database = Database(sqlite_url(path))
    await Tortoise.init(config=database.config, _enable_global_fallback=True)
    try:
        await database._migrate()
    finally:
        await Tortoise.close_connections()


def main() -> None:
    """Write the snapshot module from a database the migrations make."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.db"
        asyncio.run(_migrated(path))
        statements, applied = dump(path)
    lines = [
        "# ruff: noqa: E501",
        '"""The SQLite schema the migrations make, for new databases (see tuiapp.storage.schema).',
        "",
        "Written by `python -m tuiapp.storage.schema`; do not edit.",
        '"""',
        "",
        "STATEMENTS: tuple[str, ...] = (",
        *(f"    {s!r}," for s in statements),
        ")",
        "MIGRATIONS: tuple[tuple[str, str], ...] = (",
        *(f"    {a!r}," for a in applied),
        ")",
        "",
    ]
    target = Path(__file__).with_name("schema_snapshot.py")
    target.write_text("\n".join(lines))
    print(
        f"wrote {target}: {len(statements)} statements, {len(applied)} migrations", file=sys.stderr
    )


if __name__ == "__main__":
    main()
