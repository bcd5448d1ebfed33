"""The shared queue: processes that share one database hand jobs, events and cancels to each other.

A :class:`Cluster` relays this process's events to the others (NOTIFY), takes theirs in, obeys
cancels sent from elsewhere and, in a worker, claims queued jobs and renews their leases. It is
given the engine's runtime and a few callables; it never imports the engine's service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING

from tuiapp.bus import EventBus
from tuiapp.engine.runner import Claim, JobRun
from tuiapp.errors import UnavailableError
from tuiapp.events import Event, JobFinished, JobSubmitted
from tuiapp.jobs import JobState

if TYPE_CHECKING:
    from collections.abc import Callable

    from tuiapp.engine.runner import Runtime
    from tuiapp.storage import Listener

__all__ = ["Cluster"]

log = logging.getLogger("tuiapp.engine")

EVENTS_CHANNEL = "tuiapp_events"
CONTROL_CHANNEL = "tuiapp_control"
_OUTAGE_QUIET = 5.0
"""Seconds of a reachable database after which a new failure counts as a new outage."""
_NOTIFY_LIMIT = 7900
"""PostgreSQL refuses NOTIFY payloads of 8000 bytes or more."""


def envelope(runner: str, event: Event) -> str:
    """An event as a NOTIFY payload; long texts are cut so it always fits."""
    data = event.to_dict()
    payload = json.dumps({"from": runner, "event": data})
    if len(payload) > _NOTIFY_LIMIT:
        for key, value in data.items():
            if isinstance(value, str) and len(value) > 300:
                data[key] = value[:300] + "..."
        payload = json.dumps({"from": runner, "event": data})
    return payload


class Cluster:
    """This process's part in the shared queue."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        deliver: Callable[[Event], None],
        resync: Callable[[str], None] | None = None,
        worker: bool = False,
    ) -> None:
        """
        Args:
            runtime: the engine's shared tools and its book of runs.
            deliver: hands an event from another process to this process's subscribers.
            resync: tells this process's subscribers that events may have been lost.
            worker: claim and run queued jobs (else this process only submits and watches).
        """
        self.runtime = runtime
        self.worker = worker
        self._deliver = deliver
        self._resync = resync
        self._outbox = EventBus()
        """Events of this process, relayed to the other processes sharing the queue."""
        self._wake = asyncio.Event()
        self._recheck = asyncio.Event()
        self._outage_at = -float("inf")
        """When the database was last found unreachable (monotonic seconds)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: Listener | None = None

    async def start(self) -> None:
        storage = self.runtime.storage
        self._listener = await storage.listen(
            {EVENTS_CHANNEL: self._on_remote_event, CONTROL_CHANNEL: self._on_control},
            on_reconnect=self._reconnected,
        )
        if storage.supports_listen:
            self._tasks.append(asyncio.create_task(self._relay_events()))
        if self.worker:
            self._tasks.append(asyncio.create_task(self._claim_jobs()))
            self._tasks.append(asyncio.create_task(self._renew_leases()))

    async def stop_loops(self) -> None:
        """Stop relaying, claiming and renewing (before the runs are stopped)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()

    @property
    def events_live(self) -> bool | None:
        """Whether other processes' events reach this one now (None: nothing crosses
        processes on this database)."""
        return None if self._listener is None else self._listener.live

    def _outage(self) -> None:
        """The database cannot be reached: said once per outage, not at every try."""
        if time.monotonic() - self._outage_at > _OUTAGE_QUIET:
            log.warning("the database cannot be reached; jobs go on and wait for it")
        self._outage_at = time.monotonic()

    def _reconnected(self) -> None:
        """Messages may have been missed: look for queued jobs and asked-for cancels now, and
        have every subscriber read the state afresh."""
        self._wake.set()
        self._recheck.set()
        if self._resync is not None:
            self._resync("events of other workers may have been lost; reconnect for a snapshot")

    def published(self, event: Event) -> None:
        """An event of this process: relay it to the others."""
        self._outbox.publish(event)

    def submitted(self, event: JobSubmitted) -> None:
        """A job was queued here: tell the others, and wake this worker's claim loop."""
        self.published(event)
        self._wake.set()

    async def cancel(self, job_id: int, owner: int | None, source: str | None) -> None:
        """Cancel a job (or a source) that runs elsewhere or waits in the queue."""
        storage = self.runtime.storage
        if await storage.request_cancel(job_id, source):
            event = JobFinished(
                job_id=job_id,
                owner_id=owner,
                state=JobState.CANCELLED,
                stored=0,
                failed=0,
                bytes=0,
                elapsed=0.0,
                error="cancelled before it started",
            )
            self._deliver(event)
            self.published(event)
        else:
            await storage.notify(CONTROL_CHANNEL, json.dumps({"cancel": job_id, "source": source}))

    async def _relay_events(self) -> None:
        """Send this process's events to the others (progress coalesced when they lag)."""
        storage = self.runtime.storage
        with self._outbox.subscribe(max_backlog=100_000) as outbox:
            async for event in outbox:
                try:
                    await storage.notify(EVENTS_CHANNEL, envelope(storage.runner_id, event))
                except UnavailableError:
                    self._outage()  # other processes miss it; they re-read state when back
                except Exception:
                    log.exception("could not relay %s", event.kind)

    def _on_remote_event(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            if data["from"] == self.runtime.storage.runner_id:
                return
            event = Event.from_dict(data["event"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event from another process: %.200s", payload)
            return
        self._deliver(event)
        if self.worker and isinstance(event, JobSubmitted):
            self._wake.set()

    def _on_control(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            job_id, source = int(data["cancel"]), data.get("source")
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed control message: %.200s", payload)
            return
        run = self.runtime.runs.get(job_id)
        if run is not None:
            run.cancel(source)

    async def _claim_jobs(self) -> None:
        """A worker's loop: claim queued (or abandoned) jobs while it has room for more."""
        settings, storage = self.runtime.settings, self.runtime.storage
        lease = settings.lease_seconds
        last_sweep = 0.0
        while True:
            try:
                if len(self.runtime.runs) < settings.worker_jobs:
                    # Right after an outage every worker was cut off alike: leases that ran out
                    # meanwhile are not taken over until their workers had a lease to renew.
                    take_over = time.monotonic() - self._outage_at > lease
                    claimed = await storage.claim_job(lease, take_over=take_over)
                    if claimed is not None:
                        await self._start_claimed(*claimed)
                        continue
                if time.monotonic() - last_sweep > lease / 3:
                    last_sweep = time.monotonic()
                    await storage.sweep_orphans(lease)
            except asyncio.CancelledError:
                raise
            except UnavailableError:
                self._outage()
            except Exception:
                log.exception("claiming a job failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    async def _start_claimed(self, job_id: int, claims: int) -> None:
        storage = self.runtime.storage
        owner = await storage.job_owner(job_id)
        info = await storage.get_job(job_id, owner)
        claim = Claim(token=claims)
        if claims > 1:
            log.info("took job %s over (claim %s)", job_id, claims)
            claim = Claim(
                token=claims,
                resume=await storage.stored_urls(job_id),
                stored_bytes=await storage.stored_bytes(job_id),
            )
        JobRun(self.runtime, info, owner, claim=claim).start()

    async def _renew_leases(self) -> None:
        """A worker's heartbeat: extend leases, save counters, obey cancels, drop lost jobs.

        A worker that could not renew for three quarters of a lease (the database was away, or
        the process was frozen) stops its jobs itself, before another worker may take them over.
        """
        lease = self.runtime.settings.lease_seconds
        renewed = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recheck.wait(), lease / 6)
            self._recheck.clear()
            if time.monotonic() - renewed > lease * 3 / 4 and self._outage_at < renewed:
                # Not renewed, though the database was there: this process was frozen (a VM
                # pause, a suspended laptop). Another worker may take the jobs over any moment.
                for stale in list(self.runtime.runs.values()):
                    if stale.claimed:
                        stale.fenced(f"the lease could not be renewed for {lease:g} s")
            try:
                mine = [job_id for job_id, run in self.runtime.runs.items() if run.claimed]
                held, cancelled = await self.runtime.storage.renew_leases(mine, lease)
                renewed = time.monotonic()
                for job_id in mine:
                    run = self.runtime.runs.get(job_id)
                    if run is None:
                        continue
                    if job_id not in held:
                        run.fenced("another worker took the job over")
                    elif job_id in cancelled:
                        run.stop(JobState.CANCELLED, "cancelled")
                    else:
                        await run.save_unfinished()
                for job_id, sources in (await self.runtime.storage.source_cancels(held)).items():
                    if (asked := self.runtime.runs.get(job_id)) is not None:
                        for source in sources:
                            asked.cancel(source)
            except UnavailableError:
                self._outage()
            except Exception:
                log.exception("renewing leases failed; trying again")
