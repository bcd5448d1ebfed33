"""The database behind the engine: jobs, users, assets and chunked blobs. The only user of the ORM.

Callers get the dataclasses of :mod:`tuiapp.jobs` back, never model instances.

Blob bytes are written by one writer task that groups the writes of many files into one
transaction (SQLite's cost is per commit). A file of at most one chunk is written blob, chunk and
asset in a single transaction. A larger file is written as a *partial* blob whose chunks stream in
as they arrive; it becomes visible (complete, with its sha256, and with its asset) in one final
transaction, or is deleted. Start-up deletes partial blobs left by dead processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from tuiapp.errors import InvalidRequestError, NotFoundError
from tuiapp.jobs import (
    AssetInfo,
    JobInfo,
    JobSourceInfo,
    JobSpec,
    JobState,
    SourceState,
    UserInfo,
)
from tuiapp.models import Asset, Job, JobSource, MediaBlob, User

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator

    from tortoise.backends.base.client import BaseDBAsyncClient

__all__ = ["CHUNK_SIZE", "BlobSink", "NewAsset", "Storage", "StoredAsset"]

CHUNK_SIZE = 1 << 20
"""Bytes per chunk row. Every chunk of a blob but the last has exactly this size."""

_BATCH_OPS = 256
_HASH_IN_THREAD = 256 * 1024
"""Bytes from which a sink hashes in a worker thread rather than on the event loop."""
_CHUNKS_IN_FLIGHT = 2
"""Chunks of all files queued for the writer: one being written while the next waits, which
keeps the writer busy. More would only hold memory; with several large files at once, each
waits its turn (and its reads slow down meanwhile)."""
T = TypeVar("T")
_ACTIVE_JOB_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


def runner_id() -> str:
    """Identifies this process in rows it is working on, so start-up recovery spares live ones."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _runner_alive(runner: str | None) -> bool:
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
    if path.exists():
        return
    import sqlite3

    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA page_size=16384")
        db.execute("PRAGMA journal_mode=WAL")  # writes the header: the page size is now fixed
    finally:
        db.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _owner_q(owner: int | None) -> dict[str, Any]:
    # A NULL owner is a guest; `owner_id=None` would compare with = NULL.
    return {"owner_id__isnull": True} if owner is None else {"owner_id": owner}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAsset:
    """An asset row to write once its blob is complete."""

    job_id: int
    source: str
    kind: str
    url: str
    page_url: str | None = None
    title: str | None = None
    author: str | None = None
    author_url: str | None = None
    license: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAsset:
    asset_id: int
    blob_id: int
    sha256: str
    size: int
    mime: str
    deduplicated: bool


# --- writer operations ------------------------------------------------------------------------


@dataclass(slots=True)
class _Op:
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _StoreSmall(_Op):
    owner: int | None
    sha256: str
    data: bytes | bytearray
    mime: str
    asset: NewAsset


@dataclass(slots=True)
class _Begin(_Op):
    owner: int | None


@dataclass(slots=True)
class _Chunk(_Op):
    blob_id: int
    seq: int
    data: bytes


@dataclass(slots=True)
class _Finish(_Op):
    blob_id: int
    owner: int | None
    sha256: str
    size: int
    mime: str
    asset: NewAsset


@dataclass(slots=True)
class _Abort(_Op):
    blob_id: int


_INSERT_ASSET = (
    "INSERT INTO asset (job_id, owner_id, blob_id, source, kind, url, page_url, title, author,"
    " author_url, license, width, height, thumbnail_url, metadata, created_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


_PLACEHOLDER = re.compile(r"\?")


class _Sql:
    """Runs this module's hand-written SQL on SQLite or PostgreSQL.

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


def _parts(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _asset_values(owner: int | None, blob_id: int, a: NewAsset, now: datetime) -> list[Any]:
    return [
        a.job_id, owner, blob_id, a.source, a.kind, a.url, a.page_url, a.title, a.author,
        a.author_url, a.license, a.width, a.height, a.thumbnail_url, json.dumps(a.metadata), now,
    ]  # fmt: skip


class BlobSink:
    """Takes one file's bytes in order and stores them; memory stays at a few chunks.

    Use ``write`` for every piece, then ``finish`` (returns the stored asset) or ``abort``.
    Pieces are kept as they came (no growing buffer) and joined once per chunk.
    """

    def __init__(self, storage: Storage, owner: int | None) -> None:
        self._storage = storage
        self._owner = owner
        self._hash = hashlib.sha256()
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._size = 0
        self._blob_id: int | None = None
        self._seq = 0
        self._in_flight: deque[asyncio.Future[Any]] = deque()
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        self._size += len(data)
        self._pieces.append(data)
        self._buffered += len(data)
        while self._buffered > CHUNK_SIZE:
            # Strictly more than a chunk: a file of exactly one chunk still takes the fast path.
            pieces = self._take(CHUNK_SIZE)
            await self._digest(pieces)
            await self._reserve()
            self._queue_chunk(b"".join(pieces))

    def _take(self, size: int) -> list[bytes]:
        out: list[bytes] = []
        need = size
        while need and self._pieces:
            piece = self._pieces[0]
            if len(piece) <= need:
                out.append(self._pieces.popleft())
                need -= len(piece)
            else:
                out.append(piece[:need])
                self._pieces[0] = piece[need:]
                need = 0
        self._buffered -= size - need
        return out

    async def _digest(self, pieces: list[bytes]) -> None:
        """Add ``pieces`` to the file's sha256, in a worker thread when there is much of it.

        hashlib lets go of the GIL while it hashes, so the event loop goes on reading sockets
        meanwhile: hashing on the loop was a sixth of its time while a large file came in.
        """
        if sum(map(len, pieces)) < _HASH_IN_THREAD:
            _update(self._hash, pieces)
        else:
            await asyncio.to_thread(_update, self._hash, pieces)

    async def _reserve(self) -> None:
        """Wait until a chunk may be queued; only then is it joined (so none waits joined)."""
        if self._blob_id is None:
            self._blob_id = await self._storage._submit(_Begin, owner=self._owner)
        while self._in_flight and self._in_flight[0].done():
            self._in_flight.popleft().result()  # a chunk that failed to store fails the file now
        await self._storage._chunk_slots.acquire()

    def _queue_chunk(self, chunk: bytes) -> None:
        """Queue a chunk for the writer; call right after :meth:`_reserve`."""
        assert self._blob_id is not None
        slots = self._storage._chunk_slots
        queued = self._storage._submit_nowait(
            _Chunk, blob_id=self._blob_id, seq=self._seq, data=chunk
        )
        queued.add_done_callback(lambda _: slots.release())
        self._in_flight.append(queued)
        self._seq += 1

    async def finish(self, *, mime: str, asset: NewAsset) -> StoredAsset:
        if self._done:
            raise RuntimeError("sink already finished")
        self._done = True
        if self._blob_id is None:
            pieces = self._take(self._buffered)
            await self._digest(pieces)
            data = b"".join(pieces)
            del pieces  # the file is queued joined: not twice
            result: StoredAsset = await self._storage._submit(
                _StoreSmall,
                owner=self._owner,
                sha256=self._hash.hexdigest(),
                data=data,
                mime=mime,
                asset=asset,
            )
            return result
        try:
            if self._buffered:
                pieces = self._take(self._buffered)
                await self._digest(pieces)
                await self._reserve()
                self._queue_chunk(b"".join(pieces))
                del pieces
            while self._in_flight:
                await self._in_flight.popleft()
            result = await self._storage._submit(
                _Finish,
                blob_id=self._blob_id,
                owner=self._owner,
                sha256=self._hash.hexdigest(),
                size=self._size,
                mime=mime,
                asset=asset,
            )
        except BaseException:
            await self._storage._discard(self._blob_id)
            raise
        return result

    async def abort(self) -> None:
        """Drop what was written. Safe to call more than once and after ``finish``."""
        if self._done:
            return
        self._done = True
        self._pieces.clear()
        self._buffered = 0
        while self._in_flight:
            with contextlib.suppress(Exception):
                await self._in_flight.popleft()
        if self._blob_id is not None:
            await self._storage._discard(self._blob_id)


def _update(hasher: Any, pieces: list[bytes]) -> None:
    for piece in pieces:
        hasher.update(piece)


class Storage:
    """Opens the database, applies migrations, recovers from crashes, and reads and writes."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.sql = _Sql(postgres=not database_url.startswith("sqlite"))
        # The ORM caches INSERT statements per connection name, not per dialect: a process that
        # opens SQLite and then PostgreSQL (the tests do) needs a name per dialect.
        self.connection_name = "postgres" if self.sql.postgres else "sqlite"
        self.runner = runner_id()
        self.runner_id = self.runner
        """Identifies this process in the rows it works on."""
        self.supports_listen = self.sql.postgres
        """LISTEN/NOTIFY crosses processes (PostgreSQL); elsewhere it stays in this process."""
        self._queue: asyncio.Queue[_Op] = asyncio.Queue(maxsize=64)
        self._chunk_slots = asyncio.Semaphore(_CHUNKS_IN_FLIGHT)
        self._writer: asyncio.Task[None] | None = None

    @property
    def config(self) -> dict[str, Any]:
        return {
            "connections": {self.connection_name: self.database_url},
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
        """Connect, apply migrations, start the writer. Call :meth:`recover` next."""
        if self.database_url.startswith("sqlite://"):
            path = self.database_url.removeprefix("sqlite://").split("?", 1)[0]
            if path and path != ":memory:":
                await asyncio.to_thread(_create_sqlite, Path(path))
        await Tortoise.init(config=self.config, _enable_global_fallback=True)
        await self._migrate()
        self._writer = asyncio.create_task(self._write_loop(), name="tuiapp-blob-writer")

    async def _migrate(self) -> None:
        from tortoise.migrations.executor import MigrationExecutor

        apps = {"models": self.config["apps"]["models"]}
        await MigrationExecutor(self._conn(), apps).migrate(None)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await Tortoise.close_connections()

    def _conn(self) -> BaseDBAsyncClient:
        conn: BaseDBAsyncClient = connections.get(self.connection_name)
        return conn

    # --- recovery -----------------------------------------------------------------------------

    async def recover(self) -> list[int]:
        """Mark jobs of dead processes ``interrupted``; delete their partial blobs.

        Returns:
            The ids of the jobs marked interrupted.
        """
        rows = await self.sql.rows(
            self._conn(), "SELECT id, runner FROM media_blob WHERE complete = FALSE", []
        )
        dead_blobs = [r["id"] for r in rows if not _runner_alive(r["runner"])]
        for blob_id in dead_blobs:
            await self._discard(blob_id, direct=True)
        jobs = await Job.filter(state__in=_ACTIVE_JOB_STATES).only("id", "runner")
        interrupted = [j.id for j in jobs if not _runner_alive(j.runner)]
        if interrupted:
            now = _now()
            async with in_transaction():
                await Job.filter(id__in=interrupted).update(
                    state=JobState.INTERRUPTED.value,
                    finished_at=now,
                    error="the process running this job stopped before it finished",
                )
                for job_id in interrupted:
                    await self._recount(job_id)
                await JobSource.filter(
                    job_id__in=interrupted,
                    state__in=[
                        SourceState.QUEUED.value,
                        SourceState.SEARCHING.value,
                        SourceState.DOWNLOADING.value,
                    ],
                ).update(state=SourceState.INTERRUPTED.value)
        return interrupted

    async def _recount(self, job_id: int) -> None:
        await self.sql.run(
            self._conn(),
            "UPDATE job_source SET stored = (SELECT count(*) FROM asset a"
            " WHERE a.job_id = job_source.job_id AND a.source = job_source.source),"
            " bytes = (SELECT coalesce(sum(b.size), 0) FROM asset a JOIN media_blob b"
            " ON b.id = a.blob_id WHERE a.job_id = job_source.job_id"
            " AND a.source = job_source.source) WHERE job_id = ?",
            [job_id],
        )

    # --- users --------------------------------------------------------------------------------

    async def create_user(self, name: str) -> tuple[UserInfo, str]:
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidRequestError("a user name has 1 to 64 characters")
        token = secrets.token_urlsafe(32)
        try:
            user = await User.create(name=name, token_hash=_hash_token(token))
        except IntegrityError:
            raise InvalidRequestError(f"a user named {name!r} exists already") from None
        return UserInfo(id=user.id, name=user.name, created_at=user.created_at), token

    async def user_by_token(self, token: str) -> UserInfo | None:
        user = await User.get_or_none(token_hash=_hash_token(token))
        return (
            None
            if user is None
            else UserInfo(id=user.id, name=user.name, created_at=user.created_at)
        )

    async def user_by_name(self, name: str) -> UserInfo | None:
        user = await User.get_or_none(name=name)
        return (
            None
            if user is None
            else UserInfo(id=user.id, name=user.name, created_at=user.created_at)
        )

    async def list_users(self) -> list[UserInfo]:
        return [
            UserInfo(id=u.id, name=u.name, created_at=u.created_at)
            for u in await User.all().order_by("id")
        ]

    # --- jobs ---------------------------------------------------------------------------------

    async def create_job(
        self,
        spec: JobSpec,
        *,
        owner: int | None,
        settings: dict[str, Any],
        rerun_of: int | None = None,
    ) -> JobInfo:
        async with in_transaction():
            job = await Job.create(
                owner_id=owner,
                query=spec.query,
                count=spec.count,
                options=dict(spec.options),
                settings=settings,
                state=JobState.QUEUED.value,
                rerun_of=rerun_of,
                runner=self.runner,
            )
            await JobSource.bulk_create(
                [
                    JobSource(job_id=job.id, position=i, source=name, state=SourceState.QUEUED)
                    for i, name in enumerate(spec.sources)
                ]
            )
        return await self.get_job(job.id, owner)

    # --- the shared job queue (workers) -----------------------------------------------------

    async def claim_job(self, lease: float) -> tuple[int, int] | None:
        """Take the oldest queued job, or a running one whose worker's lease ran out.

        Atomic across processes (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one UPDATE
        under its single-writer lock), so no job is ever run by two workers at once.

        Returns:
            (job id, how many times it has been claimed, this one included), or None.
        """
        now = _now()
        until = now + timedelta(seconds=lease)
        pick = (
            "SELECT id FROM job WHERE cancel_requested = FALSE AND (state = 'queued'"
            " OR (state = 'running' AND lease_until IS NOT NULL AND lease_until < ?))"
            " ORDER BY id LIMIT 1"
        )
        if self.sql.postgres:
            pick += " FOR UPDATE SKIP LOCKED"
        rows = await self.sql.rows(
            self._conn(),
            "UPDATE job SET state = 'running', runner = ?, lease_until = ?,"
            " claims = claims + 1, started_at = COALESCE(started_at, ?)"
            f" WHERE id = ({pick}) RETURNING id, claims",
            [self.runner, until, now, now],
        )
        return (int(rows[0]["id"]), int(rows[0]["claims"])) if rows else None

    async def renew_leases(self, job_ids: Iterable[int], lease: float) -> tuple[set[int], set[int]]:
        """Extend this worker's leases.

        Returns:
            (jobs still held, jobs among them whose cancellation was asked for). A job missing
            from the first set was taken over by another worker: stop running it here.
        """
        ids = list(job_ids)
        if not ids:
            return set(), set()
        marks = ",".join("?" * len(ids))
        await self.sql.run(
            self._conn(),
            "UPDATE job SET lease_until = ? WHERE runner = ? AND state = 'running'"
            f" AND id IN ({marks})",
            [_now() + timedelta(seconds=lease), self.runner, *ids],
        )
        rows = await self.sql.rows(
            self._conn(),
            f"SELECT id, cancel_requested FROM job WHERE runner = ? AND state = 'running'"
            f" AND id IN ({marks})",
            [self.runner, *ids],
        )
        held = {int(r["id"]) for r in rows}
        return held, {int(r["id"]) for r in rows if r["cancel_requested"]}

    async def request_cancel(self, job_id: int) -> bool:
        """Ask whoever runs the job to stop; a job still queued is cancelled at once.

        Returns:
            True when the job was still queued and is now cancelled.
        """
        rows = await self.sql.rows(
            self._conn(),
            "UPDATE job SET state = 'cancelled', finished_at = ?, error = 'cancelled'"
            " WHERE id = ? AND state = 'queued' RETURNING id",
            [_now(), job_id],
        )
        if rows:
            await JobSource.filter(job_id=job_id).update(state=SourceState.CANCELLED.value)
            return True
        await Job.filter(id=job_id, state=JobState.RUNNING.value).update(cancel_requested=True)
        return False

    async def stored_urls(self, job_id: int) -> dict[str, set[str]]:
        """URLs already stored for a job, per source (a worker taking a job over skips them)."""
        rows = await Asset.filter(job_id=job_id).values_list("source", "url")
        found: dict[str, set[str]] = {}
        for source, url in rows:
            found.setdefault(str(source), set()).add(str(url))
        return found

    async def sweep_orphans(self, lease: float) -> int:
        """Delete partial blobs of workers that hold no lease any more (they died mid-file).

        Returns:
            How many partial blobs were deleted.
        """
        rows = await self.sql.rows(
            self._conn(),
            "SELECT id FROM media_blob WHERE complete = FALSE AND created_at < ?"
            " AND (runner IS NULL OR runner NOT IN (SELECT runner FROM job WHERE state = 'running'"
            " AND runner IS NOT NULL AND lease_until >= ?))",
            [_now() - timedelta(seconds=lease), _now()],
        )
        for row in rows:
            await self._discard(int(row["id"]), direct=True)
        return len(rows)

    async def notify(self, channel: str, payload: str) -> None:
        """Send a message to every process listening on ``channel`` (PostgreSQL only)."""
        if self.sql.postgres:
            await self.sql.run(self._conn(), "SELECT pg_notify(?, ?)", [channel, payload])

    async def listen(
        self, channels: dict[str, Callable[[str], None]]
    ) -> Callable[[], Awaitable[None]]:
        """Call ``channels[name](payload)`` for each message on each channel (PostgreSQL only).

        Returns:
            A coroutine function that stops listening.
        """
        if not self.sql.postgres:

            async def nothing() -> None:
                return None

            return nothing
        import asyncpg

        dsn = self.database_url.split("?", 1)[0].replace("asyncpg://", "postgres://", 1)
        conn = await asyncpg.connect(dsn)
        for name, callback in channels.items():
            await conn.add_listener(
                name, lambda _c, _pid, _ch, payload, cb=callback: cb(str(payload))
            )

        async def stop() -> None:
            await conn.close()

        return stop

    async def update_job(self, job_id: int, **values: Any) -> None:
        await Job.filter(id=job_id).update(**values)

    async def update_job_source(self, job_id: int, source: str, **values: Any) -> None:
        await JobSource.filter(job_id=job_id, source=source).update(**values)

    async def job_owner(self, job_id: int) -> int | None:
        """The owner of a job, without an ownership check (engine-internal)."""
        row = await Job.get_or_none(id=job_id).only("id", "owner_id")
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        return row.owner_id  # type: ignore[attr-defined, no-any-return]

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo:
        job = await Job.get_or_none(id=job_id, **_owner_q(owner)).prefetch_related("sources")
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        return self._job_info(job)

    async def list_jobs(
        self,
        owner: int | None,
        *,
        states: Iterable[JobState] = (),
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobInfo]:
        qs = Job.filter(**_owner_q(owner))
        for word in (text or "").lower().split():
            qs = qs.filter(_job_word(word))
        wanted = [s.value for s in states]
        if wanted:
            qs = qs.filter(state__in=wanted)
        jobs = await qs.order_by("-id").offset(offset).limit(limit).prefetch_related("sources")
        return [self._job_info(j) for j in jobs]

    async def delete_job(self, job_id: int, owner: int | None) -> None:
        job = await Job.get_or_none(id=job_id, **_owner_q(owner))
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        blob_ids = await Asset.filter(job_id=job_id).values_list("blob_id", flat=True)
        async with in_transaction():
            await Asset.filter(job_id=job_id).delete()
            await job.delete()
            await self._collect(set(blob_ids))  # type: ignore[arg-type]

    @staticmethod
    def _job_info(job: Job) -> JobInfo:
        sources = sorted(job.sources, key=lambda s: s.position)
        return JobInfo(
            id=job.id,
            query=job.query,
            count=job.count,
            options=dict(job.options or {}),
            state=JobState(job.state),
            owner_id=job.owner_id,  # type: ignore[attr-defined]
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            rerun_of=job.rerun_of,
            timeout=(job.settings or {}).get("global_job_timeout"),
            sources=tuple(
                JobSourceInfo(
                    source=s.source,
                    state=SourceState(s.state),
                    found=s.found,
                    stored=s.stored,
                    failed=s.failed,
                    bytes=s.bytes,
                    error=s.error,
                    error_code=s.error_code,
                )
                for s in sources
            ),
        )

    # --- assets -------------------------------------------------------------------------------

    async def list_assets(
        self,
        owner: int | None,
        *,
        job_id: int | None = None,
        source: str | None = None,
        kind: str | None = None,
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetInfo]:
        qs = Asset.filter(**_owner_q(owner))
        if job_id is not None:
            qs = qs.filter(job_id=job_id)
        if source:
            qs = qs.filter(source=source)
        if kind:
            qs = qs.filter(kind=kind)
        if text:
            qs = qs.filter(title__icontains=text)
        assets = await qs.order_by("id").offset(offset).limit(limit).prefetch_related("blob")
        return [self._asset_info(a) for a in assets]

    async def get_asset(self, asset_id: int, owner: int | None) -> AssetInfo:
        asset = await Asset.get_or_none(id=asset_id, **_owner_q(owner)).prefetch_related("blob")
        if asset is None:
            raise NotFoundError(f"no asset {asset_id}")
        return self._asset_info(asset)

    async def delete_asset(self, asset_id: int, owner: int | None) -> None:
        asset = await Asset.get_or_none(id=asset_id, **_owner_q(owner))
        if asset is None:
            raise NotFoundError(f"no asset {asset_id}")
        blob_id: int = asset.blob_id  # type: ignore[attr-defined]
        async with in_transaction():
            await asset.delete()
            await self._collect({blob_id})
            await self._recount(asset.job_id)  # type: ignore[attr-defined]

    async def _collect(self, blob_ids: set[int]) -> None:
        """Delete the blobs no asset points to any more (in the caller's transaction)."""
        for blob_id in blob_ids:
            if not await Asset.filter(blob_id=blob_id).exists():
                await self.sql.run(
                    self._conn(), "DELETE FROM blob_chunk WHERE blob_id = ?", [blob_id]
                )
                await MediaBlob.filter(id=blob_id).delete()

    @staticmethod
    def _asset_info(asset: Asset) -> AssetInfo:
        blob = asset.blob
        return AssetInfo(
            id=asset.id,
            job_id=asset.job_id,  # type: ignore[attr-defined]
            source=asset.source,
            url=asset.url,
            page_url=asset.page_url,
            title=asset.title,
            author=asset.author,
            author_url=asset.author_url,
            license=asset.license,
            width=asset.width,
            height=asset.height,
            thumbnail_url=asset.thumbnail_url,
            kind=asset.kind,
            metadata=dict(asset.metadata or {}),
            mime=blob.mime,
            size=blob.size,
            sha256=blob.sha256 or "",
            owner_id=asset.owner_id,  # type: ignore[attr-defined]
            created_at=asset.created_at,
        )

    async def read_blob(
        self, sha256: str, owner: int | None, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``start``..``end`` (exclusive) of a complete blob, a chunk at a time."""
        blob = await MediaBlob.get_or_none(sha256=sha256, complete=True, **_owner_q(owner))
        if blob is None:
            raise NotFoundError("no such file")
        stop = blob.size if end is None else min(end, blob.size)
        return self._read_chunks(blob.id, start, stop)

    async def _read_chunks(self, blob_id: int, start: int, stop: int) -> AsyncIterator[bytes]:
        conn = self._conn()
        pos = start
        while pos < stop:
            seq, skip = divmod(pos, CHUNK_SIZE)
            rows = await self.sql.rows(
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

    # --- the writer ---------------------------------------------------------------------------

    def _blob_param(self, data: bytes | bytearray) -> bytes | bytearray:
        return bytes(data) if self.sql.postgres else data

    def new_sink(self, owner: int | None) -> BlobSink:
        return BlobSink(self, owner)

    def _submit_nowait(self, op_type: type[_Op], **kwargs: Any) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        op = op_type(fut, **kwargs)
        # The queue is bounded; put() is used by the awaiting variant below for back-pressure.
        # Here the caller awaits the previous future first, so one extra op per sink is fine.
        try:
            self._queue.put_nowait(op)
        except asyncio.QueueFull:
            task = asyncio.ensure_future(self._queue.put(op))
            task.add_done_callback(lambda t: t.exception() and None)
        return fut

    async def _submit(self, op_type: type[_Op], **kwargs: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(op_type(fut, **kwargs))
        return await fut

    async def _discard(self, blob_id: int, *, direct: bool = False) -> None:
        if direct or self._writer is None:
            async with in_transaction() as conn:
                await self._abort(conn, blob_id)
        else:
            await self._submit(_Abort, blob_id=blob_id)

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < _BATCH_OPS and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._run_batch(batch)
            except Exception:
                # One bad op must not fail its neighbours: retry one by one.
                for op in batch:
                    try:
                        (result,) = await self._run_batch([op])
                    except Exception as exc:
                        if not op.future.done():
                            op.future.set_exception(exc)
                    else:
                        if not op.future.done():
                            op.future.set_result(result)
            else:
                for op, result in zip(batch, results, strict=True):
                    if not op.future.done():
                        op.future.set_result(result)

    async def _run_batch(self, batch: list[_Op]) -> list[Any]:
        async with in_transaction() as conn:
            results: list[Any] = []
            i = 0
            while i < len(batch):
                j = i
                while j < len(batch) and isinstance(batch[j], _StoreSmall):
                    j += 1
                if j > i:
                    small = [op for op in batch[i:j] if isinstance(op, _StoreSmall)]
                    results += await self._store_small(conn, small)
                    i = j
                else:
                    results.append(await self._apply(conn, batch[i]))
                    i += 1
            return results

    async def _store_small(self, conn: BaseDBAsyncClient, ops: list[_StoreSmall]) -> list[Any]:
        """Store many one-chunk files with a handful of statements (one round trip is ~0.1 ms)."""
        keys = {((op.owner or 0), op.sha256) for op in ops}
        blob_ids = await self._blob_ids(conn, keys)
        deduplicated = set(blob_ids)
        fresh: dict[tuple[int, str], _StoreSmall] = {}
        for op in ops:
            key = (op.owner or 0, op.sha256)
            if key not in blob_ids:
                fresh.setdefault(key, op)
        if fresh:
            now = _now()
            for part in _parts(list(fresh.items()), 500):
                await self.sql.run(
                    conn,
                    "INSERT INTO media_blob (owner_id, owner_key, sha256, size, mime, complete,"
                    " created_at) VALUES " + ",".join(["(?,?,?,?,?,TRUE,?)"] * len(part)),
                    [
                        v
                        for (key, op) in part
                        for v in (op.owner, key[0], op.sha256, len(op.data), op.mime, now)
                    ],
                )
            blob_ids.update(await self._blob_ids(conn, set(fresh)))
            await self.sql.many(
                conn,
                "INSERT INTO blob_chunk (blob_id, seq, data) VALUES (?,0,?)",
                [[blob_ids[key], self._blob_param(op.data)] for key, op in fresh.items()],
            )
        asset_ids = await self._insert_assets(
            conn, [(op.owner, blob_ids[(op.owner or 0, op.sha256)], op.asset) for op in ops]
        )
        return [
            StoredAsset(
                asset_id=asset_id,
                blob_id=blob_ids[(op.owner or 0, op.sha256)],
                sha256=op.sha256,
                size=len(op.data),
                mime=op.mime,
                deduplicated=(op.owner or 0, op.sha256) in deduplicated
                or fresh.get((op.owner or 0, op.sha256)) is not op,
            )
            for op, asset_id in zip(ops, asset_ids, strict=True)
        ]

    async def _blob_ids(
        self, conn: BaseDBAsyncClient, keys: set[tuple[int, str]]
    ) -> dict[tuple[int, str], int]:
        """Complete blobs among (owner_key, sha256) pairs -> their ids."""
        found: dict[tuple[int, str], int] = {}
        by_owner: dict[int, list[str]] = {}
        for owner_key, sha in keys:
            by_owner.setdefault(owner_key, []).append(sha)
        for owner_key, shas in by_owner.items():
            for part in _parts(shas, 500):
                rows = await self.sql.rows(
                    conn,
                    "SELECT id, sha256 FROM media_blob WHERE complete = TRUE AND owner_key = ?"
                    f" AND sha256 IN ({','.join('?' * len(part))})",
                    [owner_key, *part],
                )
                found.update({(owner_key, row["sha256"]): row["id"] for row in rows})
        return found

    async def _insert_assets(
        self, conn: BaseDBAsyncClient, rows: list[tuple[int | None, int, NewAsset]]
    ) -> list[int]:
        """Insert assets; their ids in the order given.

        A multi-row INSERT ... RETURNING answers in no promised order, so rows are matched back
        by a per-batch tag kept in the metadata until the ids are known.
        """
        if len(rows) == 1:
            owner, blob_id, asset = rows[0]
            return [await self._insert_asset(conn, owner, blob_id, asset)]
        ids: list[int] = []
        for part in _parts(rows, 200):
            placeholders = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"] * len(part))
            values: list[Any] = []
            now = _now()
            for owner, blob_id, a in part:
                values += _asset_values(owner, blob_id, a, now)
            returned = await self.sql.rows(
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
            ids += [by_key[(a.job_id, a.source, a.url)] for _, _, a in part]
        return ids

    async def _apply(self, conn: BaseDBAsyncClient, op: _Op) -> Any:
        if isinstance(op, _Begin):
            return await self.sql.insert(
                conn,
                "INSERT INTO media_blob (owner_id, owner_key, sha256, size, mime, complete,"
                " runner, created_at) VALUES (?,?,NULL,0,'application/octet-stream',FALSE,?,?)",
                [op.owner, op.owner or 0, self.runner, _now()],
            )
        if isinstance(op, _Chunk):
            await self.sql.run(
                conn,
                "INSERT INTO blob_chunk (blob_id, seq, data) VALUES (?,?,?)",
                [op.blob_id, op.seq, op.data],
            )
            return None
        if isinstance(op, _Finish):
            existing, dedup = await self._existing(conn, op.owner, op.sha256)
            if existing is not None:
                await self._abort(conn, op.blob_id)
                blob_id = existing
            else:
                await self.sql.run(
                    conn,
                    "UPDATE media_blob SET sha256 = ?, size = ?, mime = ?, complete = TRUE,"
                    " runner = NULL WHERE id = ?",
                    [op.sha256, op.size, op.mime, op.blob_id],
                )
                blob_id = op.blob_id
            asset_id = await self._insert_asset(conn, op.owner, blob_id, op.asset)
            return StoredAsset(
                asset_id=asset_id,
                blob_id=blob_id,
                sha256=op.sha256,
                size=op.size,
                mime=op.mime,
                deduplicated=dedup,
            )
        if isinstance(op, _Abort):
            await self._abort(conn, op.blob_id)
            return None
        raise TypeError(f"unknown op {op!r}")

    async def _existing(
        self, conn: BaseDBAsyncClient, owner: int | None, sha256: str
    ) -> tuple[int | None, bool]:
        rows = await self.sql.rows(
            conn,
            "SELECT id FROM media_blob WHERE owner_key = ? AND sha256 = ? AND complete = TRUE",
            [owner or 0, sha256],
        )
        return (rows[0]["id"], True) if rows else (None, False)

    async def _abort(self, conn: BaseDBAsyncClient, blob_id: int) -> None:
        await self.sql.run(
            conn,
            "DELETE FROM blob_chunk WHERE blob_id = ? AND blob_id IN"
            " (SELECT id FROM media_blob WHERE complete = FALSE)",
            [blob_id],
        )
        await self.sql.run(
            conn, "DELETE FROM media_blob WHERE id = ? AND complete = FALSE", [blob_id]
        )

    async def _insert_asset(
        self, conn: BaseDBAsyncClient, owner: int | None, blob_id: int, a: NewAsset
    ) -> int:
        asset_id = await self.sql.insert(
            conn, _INSERT_ASSET, _asset_values(owner, blob_id, a, _now())
        )
        return asset_id

    async def integrity_report(self) -> dict[str, Any]:
        """Checks used by tests and drills: sha256 of every blob, orphan chunks, SQLite's own."""
        conn = self._conn()
        bad: list[int] = []
        for blob in await MediaBlob.filter(complete=True).only("id", "sha256", "size"):
            digest = hashlib.sha256()
            size = 0
            async for piece in self._read_chunks(blob.id, 0, blob.size):
                digest.update(piece)
                size += len(piece)
            if digest.hexdigest() != blob.sha256 or size != blob.size:
                bad.append(blob.id)
        orphans = await self.sql.rows(
            conn,
            "SELECT count(*) AS n FROM blob_chunk WHERE blob_id NOT IN (SELECT id FROM media_blob)",
            [],
        )
        partial = await self.sql.rows(
            conn, "SELECT count(*) AS n FROM media_blob WHERE complete = FALSE", []
        )
        check = "ok"
        if not self.sql.postgres:
            _, rows = await conn.execute_query("PRAGMA integrity_check", [])
            check = str(rows[0][0])
        return {
            "bad_blobs": bad,
            "orphan_chunks": int(orphans[0]["n"]),
            "partial_blobs": int(partial[0]["n"]),
            "integrity_check": check,
        }


def _job_word(word: str) -> Q:
    """A job whose query, state or a source's name contains ``word``, or whose id it is."""
    in_source = JobSource.filter(source__icontains=word).values("job_id")
    match = Q(query__icontains=word) | Q(state__icontains=word) | Q(id__in=Subquery(in_source))
    is_id = word.isascii() and word.isdigit() and len(word) <= 18
    return match | Q(id=int(word)) if is_id else match
