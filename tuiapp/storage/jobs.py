"""Jobs and their per-source rows: create, update, get, list and search, delete, crash recovery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from tuiapp.errors import FencedError, NotFoundError
from tuiapp.jobs import JobInfo, JobSourceInfo, JobSpec, JobState, SourceState
from tuiapp.models import Asset, Job, JobSource
from tuiapp.storage.database import runner_alive
from tuiapp.storage.records import collect, discard_partial, now, owner_q, recount

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tortoise.backends.base.client import BaseDBAsyncClient

    from tuiapp.storage.database import Database

__all__ = ["JobStore"]

_ACTIVE_JOB_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


class JobStore:
    """The job rows of one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def recover(self) -> list[int]:
        """Mark jobs of dead processes ``interrupted``; delete their partial blobs.

        Returns:
            The ids of the jobs marked interrupted.
        """
        db = self._db
        rows = await db.sql.rows(
            db.conn(), "SELECT id, runner FROM media_blob WHERE complete = FALSE", []
        )
        for blob_id in [r["id"] for r in rows if not runner_alive(r["runner"])]:
            await discard_partial(db, blob_id)
        jobs = await Job.filter(state__in=_ACTIVE_JOB_STATES).only("id", "runner")
        interrupted = [j.id for j in jobs if not runner_alive(j.runner)]
        if interrupted:
            async with in_transaction():
                await Job.filter(id__in=interrupted).update(
                    state=JobState.INTERRUPTED.value,
                    finished_at=now(),
                    error="the process running this job stopped before it finished",
                )
                for job_id in interrupted:
                    await recount(db, job_id)
                await JobSource.filter(
                    job_id__in=interrupted,
                    state__in=[
                        SourceState.QUEUED.value,
                        SourceState.SEARCHING.value,
                        SourceState.DOWNLOADING.value,
                    ],
                ).update(state=SourceState.INTERRUPTED.value)
        return interrupted

    async def create_job(
        self,
        spec: JobSpec,
        *,
        owner: int | None,
        settings: dict[str, Any],
        rerun_of: int | None = None,
        watch_id: int | None = None,
    ) -> JobInfo:
        async with in_transaction():
            job = await Job.create(
                new_only=spec.new_only,
                watch_id=watch_id,
                owner_id=owner,
                query=spec.query,
                count=spec.count,
                options=dict(spec.options),
                settings=settings,
                state=JobState.QUEUED.value,
                rerun_of=rerun_of,
                runner=self._db.runner,
            )
            await JobSource.bulk_create(
                [
                    JobSource(job_id=job.id, position=i, source=name, state=SourceState.QUEUED)
                    for i, name in enumerate(spec.sources)
                ]
            )
        return await self.get_job(job.id, owner)

    async def update_job(self, job_id: int, *, fence: int | None = None, **values: Any) -> None:
        """Write a job's fields; with ``fence``, only while the job still carries that claim.

        Raises:
            FencedError: another worker claimed the job since (nothing was written).
        """
        rows = Job.filter(id=job_id) if fence is None else Job.filter(id=job_id, claims=fence)
        if await rows.update(**values) == 0 and fence is not None:
            raise FencedError(f"job {job_id} was claimed by another worker")

    async def update_job_source(
        self, job_id: int, source: str, *, fence: int | None = None, **values: Any
    ) -> None:
        """Write one source's state and counters; ``fence`` as for :meth:`update_job`."""
        rows = JobSource.filter(job_id=job_id, source=source)
        if fence is None:
            await rows.update(**values)
            return
        async with in_transaction() as conn:
            if not await self._holds(conn, job_id, fence):
                raise FencedError(f"job {job_id} was claimed by another worker")
            await rows.using_db(conn).update(**values)

    async def _holds(self, conn: BaseDBAsyncClient, job_id: int, fence: int) -> bool:
        """Whether the job still carries the claim ``fence`` (locked till the transaction ends
        on PostgreSQL, so a claim waits for the write)."""
        sql = self._db.sql
        query = "SELECT claims FROM job WHERE id = ?" + (" FOR SHARE" if sql.postgres else "")
        rows = await sql.rows(conn, query, [job_id])
        return bool(rows) and int(rows[0]["claims"]) == fence

    async def job_owner(self, job_id: int) -> int | None:
        """The owner of a job, without an ownership check (engine-internal)."""
        row = await Job.get_or_none(id=job_id).only("id", "owner_id")
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        return row.owner_id  # type: ignore[attr-defined, no-any-return]

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo:
        job = await Job.get_or_none(id=job_id, **owner_q(owner)).prefetch_related("sources")
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        return _job_info(job)

    async def list_jobs(
        self,
        owner: int | None,
        *,
        states: Iterable[JobState] = (),
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobInfo]:
        qs = Job.filter(**owner_q(owner))
        for word in (text or "").lower().split():
            qs = qs.filter(_job_word(word))
        wanted = [s.value for s in states]
        if wanted:
            qs = qs.filter(state__in=wanted)
        jobs = await qs.order_by("-id").offset(offset).limit(limit).prefetch_related("sources")
        return [_job_info(j) for j in jobs]

    async def delete_job(self, job_id: int, owner: int | None) -> None:
        job = await Job.get_or_none(id=job_id, **owner_q(owner))
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        blob_ids = await Asset.filter(job_id=job_id).values_list("blob_id", flat=True)
        async with in_transaction():
            await Asset.filter(job_id=job_id).delete()
            await job.delete()
            await collect(self._db, set(blob_ids))  # type: ignore[arg-type]
        await self._db.reclaim()


def _job_word(word: str) -> Q:
    """A job whose query, state or a source's name contains ``word``, or whose id it is."""
    in_source = JobSource.filter(source__icontains=word).values("job_id")
    match = Q(query__icontains=word) | Q(state__icontains=word) | Q(id__in=Subquery(in_source))
    is_id = word.isascii() and word.isdigit() and len(word) <= 18
    return match | Q(id=int(word)) if is_id else match


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
        new_only=bool(job.new_only),
        watch_id=job.watch_id,
        sources=tuple(
            JobSourceInfo(
                source=s.source,
                state=SourceState(s.state),
                found=s.found,
                stored=s.stored,
                failed=s.failed,
                bytes=s.bytes,
                known=s.known or 0,
                error=s.error,
                error_code=s.error_code,
            )
            for s in sources
        ),
    )
