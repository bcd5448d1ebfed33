"""The database itself: set-up, SQLite creation, migrations, the SQL dialect, runner ids.

The bottom room of :mod:`tuiapp.storage`: it knows no table but the ones migrations make, and
imports nothing of the rooms above it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tortoise import Tortoise, connections

from tuiapp.errors import UnavailableError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tortoise.backends.base.client import BaseDBAsyncClient

__all__ = [
    "OUTAGE_PATIENCE",
    "Database",
    "Sql",
    "retry_through_outage",
    "runner_alive",
    "runner_id",
    "unavailable",
]

log = logging.getLogger(__name__)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (down, restarting, connection cut),
    as opposed to a statement that failed."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    if isinstance(
        exc,
        (
            asyncpg.PostgresConnectionError,  # connection lost or refused
            asyncpg.OperatorInterventionError,  # shutting down, starting up
            asyncpg.InterfaceError,  # a connection already closed
        ),
    ):
        return True
    from tortoise.exceptions import DBConnectionError

    return isinstance(exc, DBConnectionError) or (
        exc.__cause__ is not None and exc.__cause__ is not exc and unavailable(exc.__cause__)
    )


OUTAGE_PATIENCE = 60.0
"""Seconds a write that must not be lost waits for a database that cannot be reached."""

T = TypeVar("T")


async def retry_through_outage(
    call: Callable[[], Awaitable[T]],
    *,
    gave_up: str,
    patience: float = OUTAGE_PATIENCE,
) -> T:
    """Run ``call``; while the database cannot be reached, try it again (for ``patience`` s).

    Raises:
        UnavailableError: still unreachable after ``patience`` s (``gave_up`` says what is lost).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.2
    while True:
        try:
            return await call()
        except Exception as exc:
            if not (isinstance(exc, UnavailableError) or unavailable(exc)):
                raise
            if loop.time() + delay > deadline:
                raise UnavailableError(gave_up) from exc
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


def runner_id() -> str:
    """Identifies this process in rows it is working on, so start-up recovery spares live ones."""
    return f"{socket.gethostname()}:{os.getpid()}"


def runner_alive(runner: str | None) -> bool:
    """Whether the process a row names may still be running (another machine's always may)."""
    if not runner:
        return False
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's worker: not ours to judge (leases handle that)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _create_sqlite(path: Path) -> None:
    """Create a new SQLite file with 16 KiB pages (a page size is fixed once a file has data).

    16 KiB pages write 1 MiB chunks ~1.6x faster than the default 4 KiB and read them faster
    too; small rows do not suffer. The ORM turns WAL on before it could set the page size, so
    the file is made here first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    import sqlite3

    if path.exists():
        _reclaimable(path)
        return
    from tuiapp.storage.schema import apply_snapshot

    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA page_size=16384")
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("PRAGMA journal_mode=WAL")  # writes the header: the page size is now fixed
        apply_snapshot(db)  # the migrated schema at once (see tuiapp.storage.schema)
    finally:
        db.close()


def _reclaimable(path: Path) -> None:
    """Turn incremental auto-vacuum on in a database made before it was the default.

    Without it, the space of deleted files and discarded partial ones never goes back to the
    file system. Changing the mode takes one VACUUM (a copy of the file); when another process
    holds the database, it is tried again at the next start.
    """
    import sqlite3

    db = sqlite3.connect(path, timeout=1.0)
    try:
        (mode,) = db.execute("PRAGMA auto_vacuum").fetchone()
        if mode == 0:
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.execute("VACUUM")
    except sqlite3.OperationalError as exc:
        log.warning("could not turn on auto-vacuum in %s yet: %s", path, exc)
    finally:
        db.close()


_PLACEHOLDER = re.compile(r"\?")


class Sql:
    """Runs the storage rooms' hand-written SQL on SQLite or PostgreSQL.

    Statements are written with ``?`` placeholders; PostgreSQL gets ``$1, $2, ...``. Inserts end
    in ``RETURNING id`` on both (SQLite has it since 3.35).
    """

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def text(self, sql: str) -> str:
        if not self.postgres:
            return sql
        counter = iter(range(1, 1_000_000))
        return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)

    async def rows(self, conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[Any]:
        # execute_query_dict: the PostgreSQL client's execute_query drops the rows of an
        # INSERT ... RETURNING.
        return await conn.execute_query_dict(self.text(sql), values)

    async def run(self, conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> None:
        await conn.execute_query(self.text(sql), values)

    async def insert(self, conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> int:
        rows = await self.rows(conn, sql + " RETURNING id", values)
        return int(rows[0]["id"])

    async def many(self, conn: BaseDBAsyncClient, sql: str, values: list[list[Any]]) -> None:
        await conn.execute_many(self.text(sql), values)

    def blob(self, data: bytes | bytearray) -> bytes | bytearray:
        """A value for a BLOB/BYTEA parameter (asyncpg takes bytes only)."""
        return bytes(data) if self.postgres else data


class Database:
    """One database URL: opens and closes the ORM on it and hands out its connection.

    Attributes:
        url: the database URL (``sqlite://...`` or ``asyncpg://...``).
        sql: the dialect helper for hand-written statements.
        runner: this process's runner id, written into the rows it works on.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.sql = Sql(postgres=not url.startswith("sqlite"))
        # The ORM caches INSERT statements per connection name, not per dialect: a process that
        # opens SQLite and then PostgreSQL (the tests do) needs a name per dialect.
        self.connection_name = "postgres" if self.sql.postgres else "sqlite"
        self.runner = runner_id()
        self._reclaim_lock = asyncio.Lock()
        self._reclaim_wanted = False

    @property
    def config(self) -> dict[str, Any]:
        return {
            "connections": {self.connection_name: self.url},
            "apps": {
                "models": {
                    "models": ["tuiapp.models"],
                    "default_connection": self.connection_name,
                    "migrations": "tuiapp.migrations",
                }
            },
            "use_tz": True,
            "timezone": "UTC",
        }

    async def open(self) -> None:
        """Create a new SQLite file if needed, connect, apply migrations."""
        if self.url.startswith("sqlite://"):
            path = self.url.removeprefix("sqlite://").split("?", 1)[0]
            if path and path != ":memory:":
                await asyncio.to_thread(_create_sqlite, Path(path))
        await Tortoise.init(config=self.config, _enable_global_fallback=True)
        await self._migrate()

    async def _migrate(self) -> None:
        from tortoise.migrations.executor import MigrationExecutor

        apps = {"models": self.config["apps"]["models"]}
        await MigrationExecutor(self.conn(), apps).migrate(None)

    async def close(self) -> None:
        await Tortoise.close_connections()

    async def reclaim(self) -> None:
        """Give the space of deleted rows back to the file system (SQLite; PostgreSQL's
        autovacuum does this by itself).

        Calls that arrive while one runs share the next run: eight files discarded at once
        vacuum twice, not eight times.
        """
        if self.sql.postgres:
            return
        self._reclaim_wanted = True
        async with self._reclaim_lock:
            if not self._reclaim_wanted:
                return  # a run that started after this call asked has done it
            self._reclaim_wanted = False
            await self.conn().execute_script("PRAGMA incremental_vacuum")

    def conn(self) -> BaseDBAsyncClient:
        """The ORM's connection for this database (outside any transaction)."""
        conn: BaseDBAsyncClient = connections.get(self.connection_name)
        return conn
