"""Running one job: a :class:`JobRun` runs its sources as :class:`~tuiapp.engine.source_run.
SourceRun` s side by side, enforces the job's budget, and records how the job ended.

It speaks to the outside only through the storage and the runtime's ``publish``: it never imports
the engine's service or a client.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from tuiapp.engine.runtime import Claim, Runtime, is_url, now
from tuiapp.engine.source_run import SourceRun
from tuiapp.errors import FencedError
from tuiapp.events import JobFinished, JobStarted, JobView, fold
from tuiapp.fetch import allowing
from tuiapp.jobs import TERMINAL_SOURCE_STATES, JobInfo, JobSpec, JobState, SourceState
from tuiapp.storage import retry_through_outage

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Claim", "JobRun", "Runtime", "SourceRun", "is_url"]

log = logging.getLogger("tuiapp.engine")


class JobRun:
    """One job running in this process: its sources, its budget, and how it ends."""

    def __init__(
        self, runtime: Runtime, info: JobInfo, owner: int | None, *, claim: Claim | None = None
    ) -> None:
        """
        Args:
            runtime: the engine's shared tools.
            info: the job as stored.
            owner: its owner (None: guests).
            claim: how this worker holds the job, when it came from the shared queue.
        """
        self.runtime = runtime
        self.info = info
        self.owner = owner
        self.claim = claim
        self.resume: Mapping[str, set[str]] = claim.resume if claim else {}
        """URLs stored under earlier claims of this job, per source (skipped on takeover)."""
        self.sources = {s.source: SourceRun(self, s.source) for s in info.sources}
        if claim is not None:
            for saved in info.sources:
                src = self.sources[saved.source]
                # Counters go on from the database: what is stored, exactly; the rest as saved.
                src.stored = len(claim.resume.get(saved.source, ()))
                src.bytes = claim.stored_bytes.get(saved.source, 0)
                src.found = max(saved.found, src.stored)
                src.failed = saved.failed
                src.known = saved.known
        self.scratch = runtime.settings.data_dir / "scratch" / f"job-{info.id}"
        self.task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()
        self.stop_reason: JobState | None = None
        """Set before the job task is cancelled: CANCELLED, TIMED_OUT, or QUEUED (handed back)."""
        self.started = 0.0
        self.stopping = threading.Event()
        """Seen by worker threads (yt-dlp) so they stop when the job does."""
        self.lost = False
        """Another worker took the job over: stop, and write nothing more about it."""
        self._ending = False
        """The job is recording how it ended: a late stop must not interrupt that."""

    @property
    def claimed(self) -> bool:
        """Taken from the shared queue (this process is a worker holding its lease)."""
        return self.claim is not None

    @property
    def fence(self) -> int | None:
        """The claim every write for this job carries (None: not from the shared queue)."""
        return self.claim.token if self.claim is not None else None

    def fenced(self, why: str) -> None:
        """The job is no longer ours: drop it at once and write nothing more about it."""
        if not self.lost:
            log.warning("job %s: %s; dropping it", self.id, why)
        self.lost = True
        self.stop(JobState.CANCELLED, why)

    @property
    def id(self) -> int:
        return self.info.id

    def start(self) -> None:
        """Register the run with the runtime and start it as a task."""
        self.runtime.runs[self.id] = self
        self.task = asyncio.create_task(self._run(self.info.spec), name=f"tuiapp-job-{self.id}")

    def stop(self, reason: JobState, message: str) -> None:
        """End the job early; the first reason given is the one recorded."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.info = replace(self.info, error=message)
        self.stopping.set()
        if self.task is not None and not self.task.done() and not self._ending:
            self.task.cancel()

    def cancel(self, source: str | None) -> None:
        """Cancel the whole job, or one of its sources."""
        if source is None:
            self.stop(JobState.CANCELLED, "cancelled")
            return
        src = self.sources.get(source)
        if src is not None:
            src.cancel()

    def live_view(self, info: JobInfo) -> JobInfo:
        """The stored job with the in-memory counters of this run: each source's progress as
        it would be published now, folded in by the reducer every client uses."""
        view: JobView | None = JobView.of(info)
        for src in self.sources.values():
            view = fold(view, src.snapshot())
        return info if view is None else view.onto(info)

    async def save_unfinished(self) -> None:
        """Save the counters of sources still at work (a worker's heartbeat)."""
        for src in self.sources.values():
            if src.state not in TERMINAL_SOURCE_STATES:
                await src.save()

    async def _run(self, spec: JobSpec) -> None:
        settings = self.runtime.settings
        loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        timer = loop.call_later(
            settings.global_job_timeout,
            self.stop,
            JobState.TIMED_OUT,
            f"the job ran out of time (GLOBAL_JOB_TIMEOUT={settings.global_job_timeout:g} s)",
        )
        state = JobState.DONE
        try:
            await self.runtime.storage.update_job(
                self.id, fence=self.fence, state=JobState.RUNNING, started_at=now()
            )
            self.runtime.publish(
                JobStarted(job_id=self.id, owner_id=self.owner, timeout=settings.global_job_timeout)
            )
            url_input = is_url(spec.query)
            # A URL the user typed names its origin: it may be fetched even when private.
            with allowing([spec.query.strip()] if url_input else []):
                async with asyncio.TaskGroup() as tg:
                    for name, src in self.sources.items():
                        src.task = tg.create_task(
                            src.run(spec, url_input), name=f"job-{self.id}-{name}"
                        )
            state = self._outcome()
        except asyncio.CancelledError:
            state = self.stop_reason or JobState.CANCELLED
            # Source tasks were cancelled with us; wait for their bookkeeping to end.
            pending = [s.task for s in self.sources.values() if s.task and not s.task.done()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        except FencedError as exc:
            self.fenced(str(exc))
        except Exception as exc:  # a bug, not a source failure: record it, don't lose the job
            log.exception("job %s failed", self.id)
            state = JobState.FAILED
            self.info = replace(self.info, error=f"internal error: {exc!r}")
        finally:
            timer.cancel()
            self._ending = True
            if self.lost or state is JobState.QUEUED:
                await self._hand_back()
            else:
                await self._finish(state)

    def _outcome(self) -> JobState:
        """How a job whose sources all ended went: done, partial, failed or cancelled."""
        runs = self.sources.values()
        if all(s.state is SourceState.CANCELLED for s in runs):
            return JobState.CANCELLED  # the user cancelled every source one by one
        stored = any(s.stored for s in runs)
        if all(s.state is SourceState.DONE and s.error is None for s in runs):
            return JobState.DONE
        if stored:
            return JobState.PARTIAL  # some source failed, or was cut short
        if any(s.error is not None for s in runs):
            return JobState.FAILED  # nothing stored, and not because nothing was found
        return JobState.DONE

    async def _hand_back(self) -> None:
        """Lost: the job is another worker's now. Otherwise: back in the queue for another."""
        try:
            if not self.lost:
                await self.runtime.storage.update_job(
                    self.id, fence=self.fence, state=JobState.QUEUED, runner=None, lease_until=None
                )
                for src in self.sources.values():
                    if src.state not in TERMINAL_SOURCE_STATES or src.state in (
                        SourceState.CANCELLED,
                        SourceState.TIMED_OUT,
                    ):
                        src.state = SourceState.QUEUED
                        await src.save()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self._forget()

    async def _finish(self, state: JobState) -> None:
        runtime = self.runtime
        try:
            for src in self.sources.values():
                if src.state in (
                    SourceState.QUEUED,
                    SourceState.SEARCHING,
                    SourceState.DOWNLOADING,
                ):
                    src.state = SourceState.CANCELLED
                    await src.save()
            await retry_through_outage(
                lambda: runtime.storage.update_job(
                    self.id,
                    fence=self.fence,
                    state=state,
                    finished_at=now(),
                    error=self.info.error,
                    runner=None,
                ),
                gave_up=f"job {self.id} ended while the database was away; its end is not saved",
            )
        except FencedError as exc:
            self.fenced(str(exc))
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            if runtime.cleanups:  # partial files of cancelled transfers go before the job ends
                await asyncio.gather(*runtime.cleanups, return_exceptions=True)
            if not self.lost:  # a fenced job's end is told by the worker that holds it
                runtime.publish(
                    JobFinished(
                        job_id=self.id,
                        owner_id=self.owner,
                        state=state,
                        stored=sum(s.stored for s in self.sources.values()),
                        failed=sum(s.failed for s in self.sources.values()),
                        bytes=sum(s.bytes for s in self.sources.values()),
                        known=sum(s.known for s in self.sources.values()),
                        elapsed=time.monotonic() - self.started,
                        error=self.info.error,
                    )
                )
            self._forget()

    def _forget(self) -> None:
        self.runtime.runs.pop(self.id, None)
        self.done.set()
