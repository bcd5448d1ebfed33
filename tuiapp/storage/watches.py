"""Watches: saved topics, who runs a due one (the database decides), and how each run went.

A due watch is claimed with a compare-and-set on its ``next_run_at`` in the same transaction
that records its run's job: of several processes that see it due at once, exactly one moves it
on and gets the job; the others change nothing. A run's outcome is recorded once the same way
(``reported_job_id``), so its digest is sent once whoever sees the job end first. The job itself
goes through the queue as any job does (a worker that dies mid-run: another takes it over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from tuiapp.errors import InvalidRequestError, NotFoundError
from tuiapp.jobs import TERMINAL_JOB_STATES
from tuiapp.models import Job, Watch
from tuiapp.storage.records import now, owner_q
from tuiapp.watches import WatchInfo

if TYPE_CHECKING:
    from datetime import datetime

    from tuiapp.jobs import JobInfo
    from tuiapp.storage.database import Database
    from tuiapp.storage.jobs import JobStore
    from tuiapp.watches import WatchSpec

__all__ = ["FinishedRun", "WatchStore"]

_EDITABLE = frozenset({"query", "sources", "count", "options", "every", "webhook", "paused"})
_TERMINAL = tuple(s.value for s in TERMINAL_JOB_STATES)


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """A watch's run whose job has ended (or was deleted) and whose outcome is not recorded."""

    watch: WatchInfo
    job_id: int
    job_state: str | None
    """None: the job was deleted before it was recorded."""


class WatchStore:
    """The watch rows of one database."""

    def __init__(self, db: Database, jobs: JobStore) -> None:
        self._db = db
        self._jobs = jobs

    async def create(self, spec: WatchSpec, owner: int | None, first_run: datetime) -> WatchInfo:
        row = await Watch.create(
            owner_id=owner,
            query=spec.job.query,
            sources=list(spec.job.sources),
            count=spec.job.count,
            options=dict(spec.job.options),
            every=spec.every,
            webhook=spec.webhook,
            next_run_at=first_run,
        )
        return _info(row)

    async def get(self, watch_id: int, owner: int | None) -> WatchInfo:
        return _info(await self._row(watch_id, owner))

    async def list_watches(self, owner: int | None) -> list[WatchInfo]:
        return [_info(r) for r in await Watch.filter(**owner_q(owner)).order_by("id")]

    async def update(self, watch_id: int, owner: int | None, **values: Any) -> WatchInfo:
        """Change a watch's fields (those a user may edit, and ``next_run_at``)."""
        unknown = set(values) - _EDITABLE - {"next_run_at", "failures", "last_error"}
        if unknown:
            raise InvalidRequestError(f"a watch has no field {sorted(unknown)[0]!r} to change")
        if "sources" in values:
            values["sources"] = list(values["sources"])
        await self._row(watch_id, owner)
        await Watch.filter(id=watch_id).update(**values)
        return await self.get(watch_id, owner)

    async def delete(self, watch_id: int, owner: int | None) -> None:
        """Delete a watch; its runs' jobs stay in the history."""
        await self._row(watch_id, owner)
        await Watch.filter(id=watch_id).delete()

    async def due(self, at: datetime, limit: int) -> list[WatchInfo]:
        """Watches due at ``at`` whose latest run is recorded, most overdue first."""
        rows = (
            await Watch.filter(paused=False, next_run_at__lte=at)
            .order_by("next_run_at")
            .limit(limit)
        )
        return [
            _info(r) for r in rows if r.last_job_id is None or r.reported_job_id == r.last_job_id
        ]

    async def claim_run(
        self,
        watch: WatchInfo,
        *,
        next_run: datetime,
        settings: dict[str, Any],
        due_only: bool = True,
    ) -> JobInfo | None:
        """Take the run of ``watch`` as it was read: move it on to ``next_run`` and record its
        job, in one transaction.

        Returns:
            The run's job (queued), or None when another process took this run first (or the
            watch changed since it was read).
        """
        # The set compares the run count read: one UPDATE per row at a time (a row lock on
        # PostgreSQL, the write lock on SQLite), so of two processes only one finds it unchanged.
        taken = Watch.filter(id=watch.id, runs=watch.runs)
        if due_only:
            taken = taken.filter(paused=False)
        async with in_transaction():
            changed = await taken.update(
                next_run_at=next_run, last_run_at=now(), runs=F("runs") + 1
            )
            if not changed:
                return None
            job = await self._jobs.create_job(
                watch.spec, owner=watch.owner_id, settings=settings, watch_id=watch.id
            )
            await Watch.filter(id=watch.id).update(last_job_id=job.id)
        return job

    async def finished_runs(self) -> list[FinishedRun]:
        """Runs whose job ended (or is gone) and whose outcome is not recorded yet."""
        db = self._db
        rows = await db.sql.rows(
            db.conn(),
            "SELECT w.id AS id, w.last_job_id AS job_id, j.state AS state FROM watch w"
            " LEFT JOIN job j ON j.id = w.last_job_id WHERE w.last_job_id IS NOT NULL"
            " AND (w.reported_job_id IS NULL OR w.reported_job_id <> w.last_job_id)",
            [],
        )
        done = [r for r in rows if r["state"] is None or r["state"] in _TERMINAL]
        if not done:
            return []
        watches = {w.id: w for w in await Watch.filter(id__in=[r["id"] for r in done])}
        return [
            FinishedRun(_info(watches[r["id"]]), int(r["job_id"]), r["state"])
            for r in done
            if r["id"] in watches
        ]

    async def record_run(
        self,
        run: FinishedRun,
        *,
        new: int,
        known: int,
        error: str | None,
        next_run: datetime | None,
    ) -> bool:
        """Record a finished run's outcome, once.

        ``error``: why it failed (None: it did not; the failures in a row start again).
        ``next_run``: when the watch is due now (a failed run backs off), None to keep it.

        Returns:
            True for the one caller that recorded it (it sends the digest); False when another
            process did first.
        """
        values: dict[str, Any] = {
            "reported_job_id": run.job_id,
            "last_new": new,
            "last_known": known,
            "total_new": F("total_new") + new,
            "failures": run.watch.failures + 1 if error is not None else 0,
            "last_error": error,
        }
        if next_run is not None:
            values["next_run_at"] = next_run
        unrecorded = Q(reported_job_id__isnull=True) | ~Q(reported_job_id=run.job_id)
        rows = Watch.filter(unrecorded, id=run.watch.id, last_job_id=run.job_id)
        return bool(await rows.update(**values))

    async def set_webhook_error(self, watch_id: int, error: str | None) -> None:
        await Watch.filter(id=watch_id).update(webhook_error=error)

    async def runs_of(self, watch_id: int, owner: int | None, limit: int = 20) -> list[int]:
        """The ids of a watch's runs, newest first."""
        await self._row(watch_id, owner)
        ids = await (
            Job.filter(watch_id=watch_id, **owner_q(owner))
            .order_by("-id")
            .limit(limit)
            .values_list("id", flat=True)
        )
        return [int(str(i)) for i in ids]

    async def _row(self, watch_id: int, owner: int | None) -> Watch:
        row = await Watch.get_or_none(id=watch_id, **owner_q(owner))
        if row is None:
            raise NotFoundError(f"no watch {watch_id}")
        return row


def later(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)


def _info(row: Watch) -> WatchInfo:
    return WatchInfo(
        id=row.id,
        owner_id=row.owner_id,  # type: ignore[attr-defined]
        query=row.query,
        sources=tuple(row.sources or ()),
        count=row.count,
        options=dict(row.options or {}),
        every=row.every,
        webhook=row.webhook,
        paused=row.paused,
        created_at=row.created_at,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_job_id=row.last_job_id,
        last_new=row.last_new,
        last_known=row.last_known,
        total_new=row.total_new,
        runs=row.runs,
        failures=row.failures,
        last_error=row.last_error,
        webhook_error=row.webhook_error,
    )
