"""A new SQLite database made in one go from a snapshot of the migrated schema.

Replaying the migrations on a new database builds the ORM's model state migration by migration:
~10 MB at the peak of the process's memory (a first `tuiapp get` peaked at 62 MB for three
pictures, 50 MB on the next run). A new file gets instead the statements the migrations left in
``sqlite_master``, the rows they wrote (their own records, a table's first row) and their rows
in the migration table, written by ``python -m
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
from typing import Any

__all__ = ["apply_snapshot", "dump", "main"]

_RECORDS = "tortoise_migrations"
"""The ORM's table of applied migrations."""
_APPLIED_AT = "2026-12-07 00:00:00+00:00"


def apply_snapshot(db: sqlite3.Connection) -> None:
    """Make the schema of the snapshot in an empty database, in one transaction."""
    from tuiapp.storage.schema_snapshot import MIGRATIONS, ROWS, STATEMENTS

    with db:
        for statement in STATEMENTS:
            db.execute(statement)
        for table, rows in ROWS:
            for row in rows:
                marks = ", ".join("?" * len(row))
                db.execute(f'INSERT INTO "{table}" VALUES ({marks})', row)
        db.executemany(
            f"INSERT INTO {_RECORDS} (app, name, applied_at) VALUES (?, ?, ?)",
            [(app, name, _APPLIED_AT) for app, name in MIGRATIONS],
        )


Dump = tuple[list[str], list[tuple[str, str]], list[tuple[str, tuple[tuple[Any, ...], ...]]]]


def dump(path: Path) -> Dump:
    """The schema statements of the SQLite database at ``path``, its applied migrations, and
    the rows of its other ordinary tables (what the migrations wrote, in a new database)."""
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
        applied = [
            (str(app), str(name))
            for app, name in db.execute(f"SELECT app, name FROM {_RECORDS} ORDER BY id")
        ]
        tables = [
            name
            for _, name, kind, *_ in db.execute("PRAGMA table_list")
            if kind == "table" and not name.startswith("sqlite_") and name != _RECORDS
        ]
        rows = [
            (name, found)
            for name in sorted(tables)
            if (found := tuple(db.execute(f'SELECT * FROM "{name}" ORDER BY rowid')))
        ]
    finally:
        db.close()
    return statements, applied, rows


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
        statements, applied, rows = dump(path)
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
        f"ROWS: tuple[tuple[str, tuple[tuple[object, ...], ...]], ...] = {tuple(rows)!r}",
        "",
    ]
    target = Path(__file__).with_name("schema_snapshot.py")
    target.write_text("\n".join(lines))
    print(
        f"wrote {target}: {len(statements)} statements, {len(applied)} migrations", file=sys.stderr
    )


if __name__ == "__main__":
    main()
