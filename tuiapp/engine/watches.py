"""The watch scheduler: due watches become new-only jobs; each run is recorded and told once.

It runs in every process that runs jobs (the terminal app, ``tuiapp serve``, workers). The
database decides who runs a due watch (:mod:`tuiapp.storage.watches`): a compare-and-set moves
it on and records its job in one transaction, so with several processes a due watch runs once.
A watch missed while nothing ran is due once, not once per missed interval: the next run is
counted from when a run starts. Watches due together are spread by a little jitter. A run that
fails makes the next ones come later (twice the interval, then four times ... at most sixteen
times, and four weeks unless the interval is longer), with the reason on the watch.

A run's outcome is recorded by whichever process sees its job end first (once, by the same
kind of compare-and-set); that process publishes ``WatchRan`` and POSTs the digest to the
watch's webhook, a URL its owner named (allowed by the address policy like a named origin).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tuiapp.engine.intake import admit
from tuiapp.engine.runtime import now as _now
from tuiapp.errors import InvalidRequestError, NotFoundError, UnavailableError
from tuiapp.events import JobFinished, WatchRan
from tuiapp.jobs import JobSpec, JobState
from tuiapp.text import printable
from tuiapp.watches import WatchSpec, check_webhook, parse_every

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from tuiapp.bus import EventBus
    from tuiapp.engine.runtime import Runtime
    from tuiapp.jobs import JobInfo
    from tuiapp.storage import FinishedRun
    from tuiapp.watches import WatchInfo

__all__ = ["Scheduler", "Watches", "backoff", "digest"]

log = logging.getLogger("tuiapp.engine.watches")

JITTER = 0.02
"""The part of its interval a watch's next run may come later, at random (at most 5 min)."""
_MAX_JITTER = 300.0
_BACKOFF_FACTOR = 16
_BACKOFF_CAP = 28 * 86400
DIGEST_FILES = 10
"""New files a digest lists."""
WEBHOOK_TRIES = 4
WEBHOOK_TIMEOUT = 10.0
"""Seconds a webhook has to answer one POST."""
DELIVERY_GRACE = 30.0
"""Seconds a closing engine waits for digests still being delivered."""


def backoff(every: int, failures: int) -> float:
    """Seconds until the next run after ``failures`` failed runs in a row (1: no change)."""
    factor = min(2 ** max(failures - 1, 0), _BACKOFF_FACTOR)
    return float(min(every * factor, max(every, _BACKOFF_CAP)))


def _failure(job: JobInfo) -> str | None:
    """Why a run failed, or None: it ran (finding nothing new is no failure)."""
    failed = job.state is JobState.FAILED or (
        job.state in (JobState.TIMED_OUT, JobState.INTERRUPTED) and job.stored == 0
    )
    if not failed:
        return None
    errors = [f"{s.source}: {s.error}" for s in job.sources if s.error]
    return printable("; ".join(errors) or job.error or job.state.value)[:500]


def digest(watch: WatchInfo, job: JobInfo | None, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON a webhook gets after a run (see the README)."""
    return {
        "watch": {
            "id": watch.id,
            "query": watch.query,
            "sources": list(watch.sources),
            "every": watch.every,
            "href": f"/api/watches/{watch.id}",
        },
        "job": None
        if job is None
        else {
            "id": job.id,
            "state": job.state.value,
            "error": job.error,
            "href": f"/api/jobs/{job.id}",
        },
        "new": job.stored if job else 0,
        "known": job.known if job else 0,
        "files": files,
    }


class Scheduler:
    """Runs due watches, records their runs, sends digests."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        launch: Callable[[JobInfo], None],
        bus: EventBus,
        tick: float | None = None,
    ) -> None:
        """
        Args:
            runtime: the engine's shared tools.
            launch: starts a recorded, queued job (here, or through the shared queue).
            bus: the engine's events: a job's end wakes the scheduler to record it.
            tick: seconds between looks when nothing wakes it (``TUIAPP_WATCH_TICK``).
        """
        self.runtime = runtime
        self._launch = launch
        self._bus = bus
        self._tick = runtime.settings.watch_tick if tick is None else tick
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(), name="tuiapp-watches"),
            asyncio.create_task(self._watch_ends(), name="tuiapp-watches-ends"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._deliveries:  # digests under way get a little time, then go
            _, late = await asyncio.wait(self._deliveries, timeout=DELIVERY_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _watch_ends(self) -> None:
        with self._bus.subscribe(lambda e: isinstance(e, JobFinished)) as ends:
            async for _ in ends:
                self._wake.set()

    async def _loop(self) -> None:
        failing = False
        while True:
            self._wake.clear()
            try:
                await self.tick()
                failing = False
            except asyncio.CancelledError:
                raise
            except UnavailableError:
                if not failing:
                    log.warning("watches wait: the database cannot be reached")
                failing = True
            except Exception:
                log.exception("the watch scheduler failed a round; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick)

    async def tick(self) -> list[JobInfo]:
        """One round: record the runs that ended, then start the watches that are due.

        Returns:
            The jobs this process started.
        """
        await self.record_finished()
        storage = self.runtime.storage
        started = []
        for watch in await storage.due_watches(_now()):
            job = await self._claim(watch, due_only=True)
            if job is not None:
                started.append(job)
        return started

    async def run_now(self, watch: WatchInfo) -> JobInfo:
        """Start a run of ``watch`` now; its schedule goes on from now.

        Raises:
            InvalidRequestError: its previous run has not ended yet.
        """
        await self.record_finished()
        watch = await self.runtime.storage.get_watch(watch.id, watch.owner_id)
        if watch.last_job_id is not None and await self._still_running(watch):
            raise InvalidRequestError(
                f"watch {watch.id}: its run (job {watch.last_job_id}) has not ended yet"
            )
        job = await self._claim(watch, due_only=False)
        if job is None:
            raise InvalidRequestError(f"watch {watch.id} was just run by another process")
        return job

    async def _still_running(self, watch: WatchInfo) -> bool:
        assert watch.last_job_id is not None
        try:
            job = await self.runtime.storage.get_job(watch.last_job_id, watch.owner_id)
        except NotFoundError:
            return False  # deleted
        return job.state in (JobState.QUEUED, JobState.RUNNING)

    async def _claim(self, watch: WatchInfo, *, due_only: bool) -> JobInfo | None:
        at = _now()
        spread = min(watch.every * JITTER, _MAX_JITTER)
        next_run = at + timedelta(seconds=watch.every + random.uniform(0, spread))
        job = await self.runtime.storage.claim_watch_run(
            watch,
            next_run=next_run,
            settings=self.runtime.settings.snapshot(),
            due_only=due_only,
        )
        if job is not None:
            log.info("watch %s: run %s started as job %s", watch.id, watch.runs + 1, job.id)
            self._launch(job)
        return job

    async def record_finished(self) -> None:
        """Record every run that ended and is not recorded yet (once, whoever sees it first)."""
        for run in await self.runtime.storage.finished_watch_runs():
            await self._record(run)

    async def _record(self, run: FinishedRun) -> None:
        storage = self.runtime.storage
        watch = run.watch
        job: JobInfo | None = None
        if run.job_state is not None:
            job = await storage.get_job(run.job_id, watch.owner_id)
        error = _failure(job) if job is not None else None
        next_run: datetime | None = None
        if error is not None and watch.failures + 1 > 1:
            finished = job.finished_at if job and job.finished_at else _now()
            next_run = finished + timedelta(seconds=backoff(watch.every, watch.failures + 1))
        new = job.stored if job else 0
        known = job.known if job else 0
        if not await storage.record_watch_run(
            run, new=new, known=known, error=error, next_run=next_run
        ):
            return  # another process recorded it
        if error is not None:
            log.warning(
                "watch %s: run (job %s) failed %s time(s) in a row: %s",
                watch.id,
                run.job_id,
                watch.failures + 1,
                error,
            )
        self.runtime.publish(
            WatchRan(
                job_id=run.job_id,
                owner_id=watch.owner_id,
                watch_id=watch.id,
                state=job.state.value if job else "deleted",
                new=new,
                known=known,
                error=error,
                failures=watch.failures + 1 if error is not None else 0,
            )
        )
        if watch.webhook:
            files = await self._files(job) if job else []
            task = asyncio.create_task(self._deliver(watch, digest(watch, job, files)))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _files(self, job: JobInfo) -> list[dict[str, Any]]:
        assets = await self.runtime.storage.list_assets(
            job.owner_id, job_id=job.id, limit=DIGEST_FILES
        )
        return [
            {
                "id": a.id,
                "source": a.source,
                "title": a.title,
                "url": a.url,
                "page_url": a.page_url,
                "mime": a.mime,
                "size": a.size,
                "href": f"/api/assets/{a.id}",
                "content_href": f"/api/assets/{a.id}/content",
            }
            for a in assets
        ]

    async def _deliver(self, watch: WatchInfo, body: dict[str, Any]) -> None:
        """POST the digest, trying again on failure; the last failure goes on the watch."""
        assert watch.webhook is not None
        fetcher = await self.runtime.http()
        settings = self.runtime.settings
        error: str | None = None
        for attempt in range(WEBHOOK_TRIES):
            if attempt:
                await asyncio.sleep(min(settings.retry_base_delay * 2**attempt, 60.0))
            error = await fetcher.post_json(watch.webhook, body, within=WEBHOOK_TIMEOUT)
            if error is None:
                break
            log.warning(
                "watch %s: webhook try %s of %s failed: %s",
                watch.id,
                attempt + 1,
                WEBHOOK_TRIES,
                error,
            )
        if error is not None:
            run = body["job"]["id"] if body["job"] else "-"
            error = (
                f"the digest of job {run} was not delivered after {WEBHOOK_TRIES} tries: {error}"
            )
        with contextlib.suppress(UnavailableError):
            await self.runtime.storage.set_watch_webhook_error(watch.id, error)


class Watches:
    """What clients do with watches (``engine.watches``): add, list, change, delete, run now.

    Every request is checked here, the one front door: a bad interval, source, option or
    webhook is an :class:`InvalidRequestError` naming the field, and nothing is saved.
    """

    def __init__(self, runtime: Runtime, scheduler: Scheduler) -> None:
        self.runtime = runtime
        self.scheduler = scheduler

    def _check(
        self,
        query: str,
        sources: Sequence[str],
        count: int,
        options: Mapping[str, Any],
        every: str | int,
        webhook: str | None,
    ) -> WatchSpec:
        if isinstance(count, bool) or not isinstance(count, int):
            raise InvalidRequestError("count: must be a whole number")
        asked = JobSpec(
            query=query,
            sources=tuple(sources),
            count=count,
            options=dict(options),
            new_only=True,
        )
        return WatchSpec(
            job=admit(asked, self.runtime.settings),
            every=parse_every(every),
            webhook=check_webhook(webhook),
        )

    async def add(
        self,
        owner: int | None,
        *,
        query: str,
        sources: Sequence[str] = (),
        count: int = 10,
        options: Mapping[str, Any] | None = None,
        every: str | int,
        webhook: str | None = None,
    ) -> WatchInfo:
        """Save a watch; its first run is due at once.

        Raises:
            InvalidRequestError: naming what is wrong (``every``, a source, an option,
                ``webhook``).
        """
        spec = self._check(query, sources, count, options or {}, every, webhook)
        watch = await self.runtime.storage.create_watch(spec, owner, first_run=_now())
        self.scheduler.wake()
        return watch

    async def list_watches(self, owner: int | None) -> list[WatchInfo]:
        return await self.runtime.storage.list_watches(owner)

    async def get(self, watch_id: int, owner: int | None) -> WatchInfo:
        return await self.runtime.storage.get_watch(watch_id, owner)

    async def update(self, watch_id: int, owner: int | None, **changes: Any) -> WatchInfo:
        """Change some of ``query``, ``sources``, ``count``, ``options``, ``every``,
        ``webhook`` and ``paused``; the whole watch is checked again as when it was added.

        A new interval counts from the last run; resuming a watch whose run time passed
        meanwhile makes it due at once (one run, not one per missed interval).
        """
        unknown = set(changes) - {"query", "sources", "count", "options", "every", "webhook"}
        unknown -= {"paused"}
        if unknown:
            raise InvalidRequestError(f"a watch has no field {sorted(unknown)[0]!r}")
        storage = self.runtime.storage
        old = await storage.get_watch(watch_id, owner)
        merged: dict[str, Any] = {
            "query": old.query,
            "sources": old.sources,
            "count": old.count,
            "options": old.options,
            "every": old.every,
            "webhook": old.webhook,
        } | {k: v for k, v in changes.items() if k != "paused"}
        spec = self._check(**merged)
        values: dict[str, Any] = {
            "query": spec.job.query,
            "sources": list(spec.job.sources),
            "count": spec.job.count,
            "options": dict(spec.job.options),
            "every": spec.every,
            "webhook": spec.webhook,
        }
        if "paused" in changes:
            if not isinstance(changes["paused"], bool):
                raise InvalidRequestError("paused: must be true or false")
            values["paused"] = changes["paused"]
        if spec.every != old.every:
            values["next_run_at"] = (old.last_run_at or _now()) + timedelta(seconds=spec.every)
        watch = await storage.update_watch(watch_id, owner, **values)
        self.scheduler.wake()
        return watch

    async def pause(self, watch_id: int, owner: int | None) -> WatchInfo:
        return await self.update(watch_id, owner, paused=True)

    async def resume(self, watch_id: int, owner: int | None) -> WatchInfo:
        return await self.update(watch_id, owner, paused=False)

    async def delete(self, watch_id: int, owner: int | None) -> None:
        """Delete a watch; its runs stay in the history."""
        await self.runtime.storage.delete_watch(watch_id, owner)

    async def run(self, watch_id: int, owner: int | None) -> JobInfo:
        """Start a run now (paused or not); returns its job, queued.

        Raises:
            InvalidRequestError: the previous run has not ended yet.
        """
        return await self.scheduler.run_now(await self.get(watch_id, owner))

    async def runs(self, watch_id: int, owner: int | None, limit: int = 20) -> list[int]:
        """The job ids of a watch's runs, newest first."""
        return await self.runtime.storage.watch_runs(watch_id, owner, limit)

    async def record(self) -> None:
        """Record the runs that ended (what the scheduler does each round)."""
        await self.scheduler.record_finished()
