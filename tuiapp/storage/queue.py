"""The job queue shared by worker processes: claim, leases, cancel requests, orphans, notify/listen.

Every step is one atomic statement, so several processes on one database never run a job twice.
LISTEN/NOTIFY exists on PostgreSQL only; on SQLite ``notify`` and ``listen`` do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tuiapp.jobs import JobState, SourceState
from tuiapp.models import Asset, Job, JobSource
from tuiapp.storage.records import discard_partial, now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tuiapp.storage.database import Database

__all__ = ["Listener", "WorkQueue"]

log = logging.getLogger(__name__)

_WATCH_EVERY = 1.0
"""Seconds between checks that the listening connection is still open."""
_RECONNECT_MAX_WAIT = 1.0
"""Longest wait between two attempts to connect again: messages resume within about a second
of the database's return."""


class WorkQueue:
    """The queue of one database, as seen by this process's runner."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim_job(self, lease: float, *, take_over: bool = True) -> tuple[int, int] | None:
        """Take the oldest queued job, or a running one whose worker's lease ran out.

        Atomic across processes (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one UPDATE
        under its single-writer lock), so no job is ever run by two workers at once.

        Args:
            lease: seconds the claim holds before it must be renewed.
            take_over: also take running jobs whose lease ran out (off right after a database
                outage, when their workers may only have been waiting to renew).

        Returns:
            (job id, how many times it has been claimed, this one included), or None.
        """
        db = self._db
        at = now()
        until = at + timedelta(seconds=lease)
        abandoned = " OR (state = 'running' AND lease_until IS NOT NULL AND lease_until < ?)"
        pick = (
            "SELECT id FROM job WHERE cancel_requested = FALSE AND (state = 'queued'"
            f"{abandoned if take_over else ''}) ORDER BY id LIMIT 1"
        )
        if db.sql.postgres:
            pick += " FOR UPDATE SKIP LOCKED"
        rows = await db.sql.rows(
            db.conn(),
            "UPDATE job SET state = 'running', runner = ?, lease_until = ?,"
            " claims = claims + 1, started_at = COALESCE(started_at, ?)"
            f" WHERE id = ({pick}) RETURNING id, claims",
            [db.runner, until, at, at] if take_over else [db.runner, until, at],
        )
        return (int(rows[0]["id"]), int(rows[0]["claims"])) if rows else None

    async def renew_leases(self, job_ids: Iterable[int], lease: float) -> tuple[set[int], set[int]]:
        """Extend this worker's leases.

        Returns:
            (jobs still held, jobs among them whose cancellation was asked for). A job missing
            from the first set was taken over by another worker: stop running it here.
        """
        db = self._db
        ids = list(job_ids)
        if not ids:
            return set(), set()
        marks = ",".join("?" * len(ids))
        await db.sql.run(
            db.conn(),
            "UPDATE job SET lease_until = ? WHERE runner = ? AND state = 'running'"
            f" AND id IN ({marks})",
            [now() + timedelta(seconds=lease), db.runner, *ids],
        )
        rows = await db.sql.rows(
            db.conn(),
            f"SELECT id, cancel_requested FROM job WHERE runner = ? AND state = 'running'"
            f" AND id IN ({marks})",
            [db.runner, *ids],
        )
        held = {int(r["id"]) for r in rows}
        return held, {int(r["id"]) for r in rows if r["cancel_requested"]}

    async def request_cancel(self, job_id: int, source: str | None = None) -> bool:
        """Ask whoever runs the job to stop it (or one of its sources); a job still queued is
        cancelled at once. The request is kept in the database, so a worker that missed the
        message (its channel was down) still sees it at its next heartbeat.

        Returns:
            True when the whole job was still queued and is now cancelled.
        """
        if source is not None:
            await JobSource.filter(job_id=job_id, source=source).update(cancel_requested=True)
            return False
        db = self._db
        rows = await db.sql.rows(
            db.conn(),
            "UPDATE job SET state = 'cancelled', finished_at = ?, error = 'cancelled'"
            " WHERE id = ? AND state = 'queued' RETURNING id",
            [now(), job_id],
        )
        if rows:
            await JobSource.filter(job_id=job_id).update(state=SourceState.CANCELLED.value)
            return True
        await Job.filter(id=job_id, state=JobState.RUNNING.value).update(cancel_requested=True)
        return False

    async def source_cancels(self, job_ids: Iterable[int]) -> dict[int, set[str]]:
        """Sources whose cancellation was asked for, per job."""
        rows = await JobSource.filter(job_id__in=list(job_ids), cancel_requested=True).values_list(
            "job_id", "source"
        )
        asked: dict[int, set[str]] = {}
        for job_id, source in rows:
            asked.setdefault(int(job_id), set()).add(str(source))
        return asked

    async def stored_urls(self, job_id: int) -> dict[str, set[str]]:
        """URLs already stored for a job, per source (a worker taking a job over skips them)."""
        rows = await Asset.filter(job_id=job_id).values_list("source", "url")
        found: dict[str, set[str]] = {}
        for source, url in rows:
            found.setdefault(str(source), set()).add(str(url))
        return found

    async def stored_bytes(self, job_id: int) -> dict[str, int]:
        """Bytes of the files stored for a job, per source (a takeover's counters go on from it)."""
        rows = await self._db.sql.rows(
            self._db.conn(),
            "SELECT a.source AS source, SUM(b.size) AS size FROM asset a"
            " JOIN media_blob b ON b.id = a.blob_id WHERE a.job_id = ? GROUP BY a.source",
            [job_id],
        )
        return {str(r["source"]): int(r["size"] or 0) for r in rows}

    async def sweep_orphans(self, lease: float) -> int:
        """Delete partial blobs of workers that hold no lease any more (they died mid-file).

        Returns:
            How many partial blobs were deleted.
        """
        db = self._db
        rows = await db.sql.rows(
            db.conn(),
            "SELECT id FROM media_blob WHERE complete = FALSE AND created_at < ?"
            " AND (runner IS NULL OR runner NOT IN (SELECT runner FROM job WHERE state = 'running'"
            " AND runner IS NOT NULL AND lease_until >= ?))",
            [now() - timedelta(seconds=lease), now()],
        )
        for row in rows:
            await discard_partial(db, int(row["id"]))
        return len(rows)

    async def notify(self, channel: str, payload: str) -> None:
        """Send a message to every process listening on ``channel`` (PostgreSQL only)."""
        db = self._db
        if db.sql.postgres:
            await db.sql.run(db.conn(), "SELECT pg_notify(?, ?)", [channel, payload])

    async def listen(
        self,
        channels: dict[str, Callable[[str], None]],
        on_reconnect: Callable[[], None] | None = None,
    ) -> Listener | None:
        """Call ``channels[name](payload)`` for each message on each channel (PostgreSQL only).

        The connection is watched and made again after any loss (a database restart, a network
        cut), with ``on_reconnect`` called once it is back, so the caller can re-read what it
        may have missed.

        Returns:
            The listener (stop it with ``close``), or None where nothing crosses processes.
        """
        if not self._db.sql.postgres:
            return None
        dsn = self._db.url.split("?", 1)[0].replace("asyncpg://", "postgres://", 1)
        listener = Listener(dsn, channels, on_reconnect)
        await listener.start()
        return listener


class Listener:
    """LISTEN on a connection of its own, made again whenever it is lost."""

    def __init__(
        self,
        dsn: str,
        channels: dict[str, Callable[[str], None]],
        on_reconnect: Callable[[], None] | None,
    ) -> None:
        self._dsn = dsn
        self._channels = channels
        self._on_reconnect = on_reconnect
        self._conn: Any = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.live = False
        """Messages from other processes arrive (False while the connection is being remade)."""

    async def start(self) -> None:
        """Connect (the first time must work), then watch the connection."""
        await self._connect()
        self._task = asyncio.create_task(self._watch(), name="tuiapp-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self.live = False

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn, timeout=5)
        self._lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: self._lost.set())
        for name, callback in self._channels.items():
            await conn.add_listener(
                name, lambda _c, _pid, _ch, payload, cb=callback: cb(str(payload))
            )
        self._conn = conn
        self.live = True

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), _WATCH_EVERY)
            if not self._lost.is_set() and not self._conn.is_closed():
                continue
            self.live = False
            log.warning("lost the database's message channel; connecting again")
            delay = 0.1
            while True:
                try:
                    await self._connect()
                    break
                except Exception as exc:  # any failure to connect: the database is not back yet
                    log.debug("still no message channel: %r", exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RECONNECT_MAX_WAIT)
            log.warning("the database's message channel is back")
            if self._on_reconnect is not None:
                self._on_reconnect()
