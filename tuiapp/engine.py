"""The job engine: runs each job's sources in parallel, downloads what they find, stores it.

Clients (TUI, HTTP API, CLI) call the public methods of :class:`Engine` and watch its events;
they never download, parse or write the database themselves.

Time limits:
- ``REQUEST_TIMEOUT``: connect, and the longest silence inside one transfer (stall detection).
- ``SOURCE_TIMEOUT``: time spent waiting on a source's search/listing; transfers don't count.
- ``GLOBAL_JOB_TIMEOUT``: the job's hard budget; what was stored stays, partial files go.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import re
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tuiapp import sources as registry
from tuiapp.bus import EventBus, Subscription
from tuiapp.errors import (
    BlockedError,
    ContentRejectedError,
    InvalidRequestError,
    MissingKeyError,
    SourceError,
    StalledError,
    TooLargeError,
    TuiappError,
    UnauthorizedError,
    UnsupportedURLError,
)
from tuiapp.events import (
    EVENT_TYPES,
    AssetStored,
    Event,
    ItemFailed,
    JobDeleted,
    JobFinished,
    JobStarted,
    JobSubmitted,
    SourceFinished,
    SourceNotice,
    SourceProgress,
    SourceStarted,
    TransferProgress,
)
from tuiapp.fetch import Fetcher, accepts, sniff
from tuiapp.jobs import (
    TERMINAL_JOB_STATES,
    TERMINAL_SOURCE_STATES,
    AssetInfo,
    JobInfo,
    JobSpec,
    JobState,
    SourceInfo,
    SourceState,
    UserInfo,
)
from tuiapp.sources.base import (
    DownloadedFile,
    Found,
    SourceContext,
    SourceQuery,
    TransferContext,
)
from tuiapp.storage import NewAsset, Storage, StoredAsset

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
    from pathlib import Path

    from tuiapp.config import Settings
    from tuiapp.sources.base import Source

__all__ = ["Engine", "Subscription", "is_url"]

log = logging.getLogger(__name__)

_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_PROGRESS_INTERVAL = 0.1
"""Seconds between progress events of one source or one transfer (they are coalesced anyway)."""
_FILE_READ = 1 << 20
_STORE_BACKLOG = 256
_STORE_BACKLOG_BYTES = 16 * 1024 * 1024
"""Files (and bytes) of one source fetched but not yet committed: bounds memory when the
database lags behind the network, while letting the writer commit large batches."""


_EVENTS_CHANNEL = "tuiapp_events"
_CONTROL_CHANNEL = "tuiapp_control"
_NOTIFY_LIMIT = 7900
"""PostgreSQL refuses NOTIFY payloads of 8000 bytes or more."""


def _envelope(runner: str, event: Event) -> str:
    """An event as a NOTIFY payload; long texts are cut so it always fits."""
    data = event.to_dict()
    payload = json.dumps({"from": runner, "event": data})
    if len(payload) > _NOTIFY_LIMIT:
        for key, value in data.items():
            if isinstance(value, str) and len(value) > 300:
                data[key] = value[:300] + "..."
        payload = json.dumps({"from": runner, "event": data})
    return payload


def is_url(text: str) -> bool:
    return _URL.match(text.strip()) is not None


def _now() -> datetime:
    return datetime.now(UTC)


class _Speed:
    """Bytes per second over the last few seconds."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, total: int) -> float:
        now = time.monotonic()
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        return (total - b0) / (now - t0) if now > t0 else 0.0


@dataclass(slots=True)
class _SourceRun:
    name: str
    state: SourceState = SourceState.QUEUED
    found: int = 0
    stored: int = 0
    failed: int = 0
    bytes: int = 0
    error: TuiappError | None = None
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    speed: _Speed = field(default_factory=_Speed)
    last_progress: float = 0.0
    unstored_bytes: int = 0
    """Bytes fetched and waiting for the database."""

    def counters(self) -> dict[str, int]:
        return {
            "found": self.found,
            "stored": self.stored,
            "failed": self.failed,
            "bytes": self.bytes,
        }


@dataclass(slots=True)
class _JobRun:
    info: JobInfo
    owner: int | None
    sources: dict[str, _SourceRun]
    scratch: Path
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: JobState | None = None
    """Set before the job task is cancelled: CANCELLED or TIMED_OUT."""
    started: float = 0.0
    stopping: threading.Event = field(default_factory=threading.Event)
    """Seen by worker threads (yt-dlp) so they stop when the job does."""
    claimed: bool = False
    """Taken from the shared queue (this engine is a worker and holds its lease)."""
    lost: bool = False
    """Another worker took the job over: stop, and write nothing more about it."""
    resume: dict[str, set[str]] = field(default_factory=dict)
    """URLs stored by an earlier claim of this job, per source (skipped on takeover)."""


class Engine:
    """Runs jobs. Use ``async with Engine(settings) as engine`` (or ``start``/``close``)."""

    def __init__(
        self, settings: Settings, *, storage: Storage | None = None, worker: bool = False
    ) -> None:
        """
        Args:
            settings: the settings to run with.
            storage: a storage to use instead of one on ``settings.database_url``.
            worker: claim and run jobs from the shared queue (implies queue mode).
        """
        self.settings = settings
        self.storage = storage or Storage(settings.database_url)
        self.fetcher = Fetcher(settings)
        self.bus = EventBus()
        self.worker = worker
        self.queue = settings.queue or worker
        """Jobs go through the database's queue instead of running where they were submitted."""
        self._runs: dict[int, _JobRun] = {}
        self._source_slots = asyncio.Semaphore(settings.max_concurrent_sources)
        self._cleanups: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[None]] = []
        self._outbox = EventBus()
        """Events of this process, relayed to the other processes sharing the queue."""
        self._wake = asyncio.Event()
        self._stop_listening: Callable[[], Awaitable[None]] | None = None
        self.interrupted: list[int] = []
        """Jobs found interrupted (their process died) when this engine started."""

    async def start(self) -> None:
        await self.storage.open()
        if not self.queue:
            # With a shared queue a dead worker's job is taken over when its lease ends.
            self.interrupted = await self.storage.recover()
        await self.fetcher.start()
        if self.queue:
            self._stop_listening = await self.storage.listen(
                {_EVENTS_CHANNEL: self._on_remote_event, _CONTROL_CHANNEL: self._on_control}
            )
            if self.storage.sql.postgres:
                self._background.append(asyncio.create_task(self._relay_events()))
        if self.worker:
            self._background.append(asyncio.create_task(self._claim_jobs()))
            self._background.append(asyncio.create_task(self._renew_leases()))

    async def close(self) -> None:
        """Stop running jobs, then close connections.

        Jobs end ``cancelled``; a worker's jobs go back to the queue for another worker.
        """
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for run in list(self._runs.values()):
            if run.claimed:
                self._stop(run, JobState.QUEUED, "the worker stopped; back in the queue")
            else:
                self._stop(run, JobState.CANCELLED, "tuiapp was closed while the job ran")
        for run in list(self._runs.values()):
            await run.done.wait()
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        if self._stop_listening is not None:
            await self._stop_listening()
        await self.fetcher.close()
        await self.storage.close()
        self.bus.close()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- sources and users --------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        return [
            SourceInfo(
                name=cls.name,
                kind=cls.kind,
                description=cls.description,
                takes_query=cls.takes_query,
                takes_url=cls.takes_url(),
                key_setting=cls.key_setting,
                configured=cls.key_setting is None
                or self.settings.api_key(cls.key_setting) is not None,
                base_url=self._base_url(cls),
            )
            for cls in registry.all_sources()
        ]

    def source_for_url(self, url: str) -> str | None:
        """The source a URL typed into a job goes to, if any."""
        cls = registry.find(url.strip())
        return cls.name if cls is not None else None

    def route(self, query: str, picked: Sequence[str] = ()) -> tuple[str, ...]:
        """The sources a job runs: the ones picked, else the one source that claims the URL.

        The one place where a URL typed by a user is routed; every client calls it.

        Raises:
            InvalidRequestError: nothing picked and no source takes the query as a URL.
        """
        if picked:
            return tuple(picked)
        name = self.source_for_url(query) if is_url(query) else None
        if name is None:
            raise InvalidRequestError(
                "pick at least one source (see `tuiapp sources`):"
                f" no source takes {query.strip()!r:.80} as a URL"
            )
        return (name,)

    def _base_url(self, cls: type[Source]) -> str:
        return self.settings.base_urls.get(cls.name, cls.base_url)

    async def create_user(self, name: str) -> tuple[UserInfo, str]:
        """Create a user; returns it and its API token (shown once, stored hashed)."""
        return await self.storage.create_user(name)

    async def authenticate(self, token: str | None) -> UserInfo | None:
        """The user a bearer token belongs to; None (guest) without a token.

        Raises:
            UnauthorizedError: the token is wrong, or no token and guests are turned off.
        """
        if token is None:
            if not self.settings.allow_guests:
                raise UnauthorizedError("guests are turned off; send an API token")
            return None
        user = await self.storage.user_by_token(token)
        if user is None:
            raise UnauthorizedError("that API token is not valid")
        return user

    async def user_named(self, name: str) -> UserInfo:
        user = await self.storage.user_by_name(name)
        if user is None:
            raise UnauthorizedError(f"no user named {name!r} (create one: tuiapp user add {name})")
        return user

    async def list_users(self) -> list[UserInfo]:
        return await self.storage.list_users()

    # --- events -------------------------------------------------------------------------------

    def subscribe(
        self,
        *,
        owner: int | None = None,
        all_owners: bool = False,
        job_id: int | None = None,
        max_backlog: int = 10_000,
    ) -> Subscription:
        """Events of one owner's jobs (None: guest; ``all_owners``: everybody's), or of one job."""

        def wanted(event: Event) -> bool:
            if not all_owners and event.owner_id != owner:
                return False
            return job_id is None or event.job_id == job_id

        return self.bus.subscribe(wanted, max_backlog=max_backlog)

    def _publish(self, event: Event) -> None:
        self.bus.publish(event)
        if self.queue:
            self._outbox.publish(event)

    # --- the shared queue ---------------------------------------------------------------------

    async def _relay_events(self) -> None:
        """Send this process's events to the others (progress coalesced when they lag)."""
        with self._outbox.subscribe(max_backlog=100_000) as outbox:
            async for event in outbox:
                try:
                    await self.storage.notify(
                        _EVENTS_CHANNEL, _envelope(self.storage.runner, event)
                    )
                except Exception:
                    log.exception("could not relay %s", event.kind)

    def _on_remote_event(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            if data["from"] == self.storage.runner:
                return
            fields = dict(data["event"])
            event = EVENT_TYPES[fields.pop("kind")](**fields)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event from another process: %.200s", payload)
            return
        self.bus.publish(event)
        if self.worker and isinstance(event, JobSubmitted):
            self._wake.set()

    def _on_control(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            job_id, source = int(data["cancel"]), data.get("source")
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed control message: %.200s", payload)
            return
        run = self._runs.get(job_id)
        if run is not None:
            self._cancel_local(run, source)

    async def _claim_jobs(self) -> None:
        """A worker's loop: claim queued (or abandoned) jobs while it has room for more."""
        lease = self.settings.lease_seconds
        last_sweep = 0.0
        while True:
            try:
                if len(self._runs) < self.settings.worker_jobs:
                    claimed = await self.storage.claim_job(lease)
                    if claimed is not None:
                        await self._start_claimed(*claimed)
                        continue
                if time.monotonic() - last_sweep > lease / 3:
                    last_sweep = time.monotonic()
                    await self.storage.sweep_orphans(lease)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("claiming a job failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    async def _start_claimed(self, job_id: int, claims: int) -> None:
        owner = await self.storage.job_owner(job_id)
        info = await self.storage.get_job(job_id, owner)
        resume = await self.storage.stored_urls(job_id) if claims > 1 else {}
        run = _JobRun(
            info=info,
            owner=owner,
            sources={
                s.source: _SourceRun(s.source, stored=len(resume.get(s.source, ())))
                for s in info.sources
            },
            scratch=self.settings.data_dir / "scratch" / f"job-{job_id}",
            claimed=True,
            resume=resume,
        )
        self._runs[job_id] = run
        if claims > 1:
            log.info("took job %s over (claim %s)", job_id, claims)
        run.task = asyncio.create_task(self._run_job(run, info.spec), name=f"tuiapp-job-{job_id}")

    async def _renew_leases(self) -> None:
        """A worker's heartbeat: extend leases, save counters, obey cancels, drop lost jobs."""
        lease = self.settings.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                mine = [job_id for job_id, run in self._runs.items() if run.claimed]
                held, cancelled = await self.storage.renew_leases(mine, lease)
                for job_id in mine:
                    run = self._runs.get(job_id)
                    if run is None:
                        continue
                    if job_id not in held:
                        run.lost = True
                        self._stop(run, JobState.CANCELLED, "another worker took the job over")
                    elif job_id in cancelled:
                        self._stop(run, JobState.CANCELLED, "cancelled")
                    else:
                        for src in run.sources.values():
                            if src.state not in TERMINAL_SOURCE_STATES:
                                await self._save_source(run, src)
            except Exception:
                log.exception("renewing leases failed; trying again")

    # --- jobs ---------------------------------------------------------------------------------

    async def submit(
        self, spec: JobSpec, owner: int | None = None, *, rerun_of: int | None = None
    ) -> JobInfo:
        """Record a job and start it. Returns at once with the job queued.

        Raises:
            InvalidRequestError: an unknown source.
        """
        for name in spec.sources:
            registry.get(name)
        info = await self.storage.create_job(
            spec, owner=owner, settings=self.settings.snapshot(), rerun_of=rerun_of
        )
        submitted = JobSubmitted(
            job_id=info.id, owner_id=owner, query=spec.query, sources=spec.sources, count=spec.count
        )
        if self.queue:
            self._publish(submitted)
            self._wake.set()
            return info
        run = _JobRun(
            info=info,
            owner=owner,
            sources={name: _SourceRun(name) for name in spec.sources},
            scratch=self.settings.data_dir / "scratch" / f"job-{info.id}",
        )
        self._runs[info.id] = run
        self._publish(submitted)
        run.task = asyncio.create_task(self._run_job(run, spec), name=f"tuiapp-job-{info.id}")
        return info

    async def cancel(self, job_id: int, owner: int | None, source: str | None = None) -> JobInfo:
        """Cancel a running job, or one source of it. Cancelling a finished job changes nothing."""
        info = await self.storage.get_job(job_id, owner)
        if source is not None and source not in {s.source for s in info.sources}:
            raise InvalidRequestError(f"job {job_id} has no source {source!r}")
        run = self._runs.get(job_id)
        if run is not None:
            self._cancel_local(run, source)
        elif self.queue and info.state not in TERMINAL_JOB_STATES:
            if source is None and await self.storage.request_cancel(job_id):
                self._publish(
                    JobFinished(
                        job_id=job_id,
                        owner_id=owner,
                        state=JobState.CANCELLED.value,
                        stored=0,
                        failed=0,
                        bytes=0,
                        elapsed=0.0,
                        error="cancelled before it started",
                    )
                )
            else:
                await self.storage.notify(
                    _CONTROL_CHANNEL, json.dumps({"cancel": job_id, "source": source})
                )
        return info

    def _cancel_local(self, run: _JobRun, source: str | None) -> None:
        if source is None:
            self._stop(run, JobState.CANCELLED, "cancelled")
            return
        src = run.sources.get(source)
        if src is not None:
            src.cancel_requested = True
            if src.task is not None and not src.task.done():
                src.task.cancel()

    async def rerun(self, job_id: int, owner: int | None) -> JobInfo:
        info = await self.storage.get_job(job_id, owner)
        return await self.submit(info.spec, owner, rerun_of=job_id)

    async def wait(self, job_id: int, owner: int | None) -> JobInfo:
        """Wait until the job has finished; returns its final state."""
        run = self._runs.get(job_id)
        if run is not None:
            await run.done.wait()
        info = await self.storage.get_job(job_id, owner)
        while info.state not in TERMINAL_JOB_STATES and job_id not in self._runs:
            await asyncio.sleep(0.25)  # run by another process: watch the database
            info = await self.storage.get_job(job_id, owner)
        run = self._runs.get(job_id)
        if run is not None:  # claimed by this worker in the meantime
            await run.done.wait()
            info = await self.storage.get_job(job_id, owner)
        return info

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo:
        info = await self.storage.get_job(job_id, owner)
        run = self._runs.get(job_id)
        return info if run is None else self._live_view(info, run)

    async def list_jobs(
        self,
        owner: int | None,
        *,
        states: tuple[JobState, ...] = (),
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobInfo]:
        """Jobs of ``owner``, newest first.

        ``text`` keeps the jobs in which every word appears (any case) in the query, the state
        or a source's name, or is the id.
        """
        infos = await self.storage.list_jobs(
            owner, states=states, text=text, limit=limit, offset=offset
        )
        return [self._live_view(i, self._runs[i.id]) if i.id in self._runs else i for i in infos]

    def _live_view(self, info: JobInfo, run: _JobRun) -> JobInfo:
        """The stored job with the in-memory counters of a running one."""
        from dataclasses import replace

        return replace(
            info,
            sources=tuple(
                replace(
                    s,
                    state=run.sources[s.source].state,
                    found=run.sources[s.source].found,
                    stored=run.sources[s.source].stored,
                    failed=run.sources[s.source].failed,
                    bytes=run.sources[s.source].bytes,
                )
                if s.source in run.sources
                else s
                for s in info.sources
            ),
        )

    async def delete_job(self, job_id: int, owner: int | None) -> None:
        """Delete a job, its assets and the blobs nothing else uses. A running job is cancelled."""
        info = await self.storage.get_job(job_id, owner)
        run = self._runs.get(job_id)
        if run is not None:
            self._stop(run, JobState.CANCELLED, "deleted")
            await run.done.wait()
        elif self.queue and info.state not in TERMINAL_JOB_STATES:
            await self.cancel(job_id, owner)
            await asyncio.wait_for(self.wait(job_id, owner), self.settings.lease_seconds * 2)
        await self.storage.delete_job(job_id, owner)
        self._publish(JobDeleted(job_id=job_id, owner_id=owner))

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
        return await self.storage.list_assets(
            owner, job_id=job_id, source=source, kind=kind, text=text, limit=limit, offset=offset
        )

    async def get_asset(self, asset_id: int, owner: int | None) -> AssetInfo:
        return await self.storage.get_asset(asset_id, owner)

    async def read_asset(
        self, asset_id: int, owner: int | None, start: int = 0, end: int | None = None
    ) -> tuple[AssetInfo, AsyncIterator[bytes]]:
        """An asset and its bytes ``start``..``end`` (exclusive), streamed chunk by chunk."""
        asset = await self.storage.get_asset(asset_id, owner)
        return asset, await self.storage.read_blob(asset.sha256, owner, start, end)

    async def delete_asset(self, asset_id: int, owner: int | None) -> None:
        await self.storage.delete_asset(asset_id, owner)

    async def export_job(self, job_id: int, owner: int | None, directory: Path) -> list[Path]:
        """Write a job's files into ``directory`` under safe, unique names.

        Each file is written to a temporary name and renamed when complete.
        """
        await self.storage.get_job(job_id, owner)
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        written: list[Path] = []
        offset = 0
        while True:
            page = await self.storage.list_assets(owner, job_id=job_id, limit=500, offset=offset)
            if not page:
                return written
            offset += len(page)
            for asset in page:
                target = directory / export_name(asset)
                tmp = target.with_name(f".{target.name}.part")
                chunks = await self.storage.read_blob(asset.sha256, owner)
                with tmp.open("wb") as fh:
                    async for piece in chunks:
                        await asyncio.to_thread(fh.write, piece)
                tmp.replace(target)
                written.append(target)

    async def integrity_report(self) -> dict[str, Any]:
        return await self.storage.integrity_report()

    # --- running a job ------------------------------------------------------------------------

    def _stop(self, run: _JobRun, reason: JobState, message: str) -> None:
        if run.stop_reason is None:
            run.stop_reason = reason
            run.info = _with_error(run.info, message)
        run.stopping.set()
        if run.task is not None and not run.task.done():
            run.task.cancel()

    def _spawn_cleanup(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _run_job(self, run: _JobRun, spec: JobSpec) -> None:
        job_id = run.info.id
        loop = asyncio.get_running_loop()
        run.started = time.monotonic()
        timer = loop.call_later(
            self.settings.global_job_timeout,
            self._stop,
            run,
            JobState.TIMED_OUT,
            f"the job ran out of time (GLOBAL_JOB_TIMEOUT={self.settings.global_job_timeout:g} s)",
        )
        state = JobState.DONE
        try:
            await self.storage.update_job(job_id, state=JobState.RUNNING, started_at=_now())
            self._publish(
                JobStarted(
                    job_id=job_id, owner_id=run.owner, timeout=self.settings.global_job_timeout
                )
            )
            url_input = is_url(spec.query)
            async with asyncio.TaskGroup() as tg:
                for name, src in run.sources.items():
                    src.task = tg.create_task(
                        self._run_source(run, src, spec, url_input), name=f"job-{job_id}-{name}"
                    )
            if all(s.state is SourceState.CANCELLED for s in run.sources.values()):
                state = JobState.CANCELLED  # the user cancelled every source one by one
            elif not any(s.stored for s in run.sources.values()) and any(
                s.error is not None for s in run.sources.values()
            ):
                state = JobState.FAILED  # nothing stored, and not because nothing was found
        except asyncio.CancelledError:
            state = run.stop_reason or JobState.CANCELLED
            # Source tasks were cancelled with us; wait for their bookkeeping to end.
            pending = [s.task for s in run.sources.values() if s.task and not s.task.done()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        except Exception as exc:  # a bug, not a source failure: record it, don't lose the job
            log.exception("job %s failed", job_id)
            state = JobState.FAILED
            run.info = _with_error(run.info, f"internal error: {exc!r}")
        finally:
            timer.cancel()
            await self._finish_job(run, state)

    async def _finish_job(self, run: _JobRun, state: JobState) -> None:
        job_id = run.info.id
        if run.lost or state is JobState.QUEUED:
            # Lost: the job is another worker's now. QUEUED: handed back for another worker.
            try:
                if not run.lost:
                    await self.storage.update_job(
                        job_id, state=JobState.QUEUED, runner=None, lease_until=None
                    )
                    for src in run.sources.values():
                        if src.state not in TERMINAL_SOURCE_STATES or src.state in (
                            SourceState.CANCELLED,
                            SourceState.TIMED_OUT,
                        ):
                            src.state = SourceState.QUEUED
                            await self._save_source(run, src)
            finally:
                shutil.rmtree(run.scratch, ignore_errors=True)
                self._runs.pop(job_id, None)
                run.done.set()
            return
        try:
            for src in run.sources.values():
                if src.state in (
                    SourceState.QUEUED,
                    SourceState.SEARCHING,
                    SourceState.DOWNLOADING,
                ):
                    src.state = SourceState.CANCELLED
                    await self._save_source(run, src)
            await self.storage.update_job(
                job_id, state=state, finished_at=_now(), error=run.info.error, runner=None
            )
        finally:
            shutil.rmtree(run.scratch, ignore_errors=True)
            if self._cleanups:  # partial files of cancelled transfers go before the job ends
                await asyncio.gather(*self._cleanups, return_exceptions=True)
            self._publish(
                JobFinished(
                    job_id=job_id,
                    owner_id=run.owner,
                    state=state.value,
                    stored=sum(s.stored for s in run.sources.values()),
                    failed=sum(s.failed for s in run.sources.values()),
                    bytes=sum(s.bytes for s in run.sources.values()),
                    elapsed=time.monotonic() - run.started,
                    error=run.info.error,
                )
            )
            self._runs.pop(job_id, None)
            run.done.set()

    async def _save_source(self, run: _JobRun, src: _SourceRun) -> None:
        if run.lost:
            return
        await self.storage.update_job_source(
            run.info.id,
            src.name,
            state=src.state,
            **src.counters(),
            error=None if src.error is None else str(src.error),
            error_code=None if src.error is None else src.error.code,
        )

    def _notice(self, run: _JobRun, src: _SourceRun, text: str) -> None:
        log.info("job %s, %s: %s", run.info.id, src.name, text)
        self._publish(
            SourceNotice(job_id=run.info.id, owner_id=run.owner, source=src.name, message=text)
        )

    def _progress(self, run: _JobRun, src: _SourceRun, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - src.last_progress < _PROGRESS_INTERVAL:
            return
        src.last_progress = now
        self._publish(
            SourceProgress(
                job_id=run.info.id,
                owner_id=run.owner,
                source=src.name,
                state=src.state.value,
                **src.counters(),
                speed=src.speed.add(src.bytes),
            )
        )

    async def _run_source(
        self, run: _JobRun, src: _SourceRun, spec: JobSpec, url_input: bool
    ) -> None:
        try:
            async with self._source_slots:
                src.state = SourceState.SEARCHING
                await self._save_source(run, src)
                self._publish(
                    SourceStarted(
                        job_id=run.info.id,
                        owner_id=run.owner,
                        source=src.name,
                        state=src.state.value,
                    )
                )
                await self._search_and_download(run, src, spec, url_input)
                if src.state not in (SourceState.TIMED_OUT,):
                    src.state = SourceState.DONE
        except asyncio.CancelledError:
            if src.cancel_requested:
                src.state = SourceState.CANCELLED
                src.error = None
            elif run.stop_reason is JobState.TIMED_OUT:
                src.state = SourceState.TIMED_OUT
            else:
                src.state = SourceState.CANCELLED
            if not src.cancel_requested:
                raise
        except BlockedError as exc:
            src.state, src.error = SourceState.BLOCKED, exc
        except TuiappError as exc:
            src.state, src.error = SourceState.FAILED, exc
        except Exception as exc:
            log.exception("source %s of job %s crashed", src.name, run.info.id)
            src.state, src.error = SourceState.FAILED, SourceError(f"internal error: {exc!r}")
        finally:
            await asyncio.shield(self._end_source(run, src))

    async def _end_source(self, run: _JobRun, src: _SourceRun) -> None:
        await self._save_source(run, src)
        self._progress(run, src, force=True)
        self._publish(
            SourceFinished(
                job_id=run.info.id,
                owner_id=run.owner,
                source=src.name,
                state=src.state.value,
                **src.counters(),
                error=None if src.error is None else str(src.error),
                error_code=None if src.error is None else src.error.code,
            )
        )

    async def _search_and_download(
        self, run: _JobRun, src: _SourceRun, spec: JobSpec, url_input: bool
    ) -> None:
        cls = registry.get(src.name)
        if url_input and not cls.matches(spec.query.strip()):
            if cls.takes_url():
                raise UnsupportedURLError(f"{src.name} does not take this URL")
            raise UnsupportedURLError(f"{src.name} searches by words and does not take URLs")
        if not url_input and not cls.takes_query:
            raise UnsupportedURLError(f"{src.name} takes only URLs, not search words")
        api_key = self.settings.api_key(cls.key_setting)
        if cls.key_setting is not None and api_key is None:
            raise MissingKeyError(cls.key_setting)

        source = cls()
        scratch = run.scratch / src.name
        source_log = logging.getLogger(f"tuiapp.sources.{src.name}")
        ctx = SourceContext(
            http=self.fetcher,
            base_url=self._base_url(cls),
            api_key=api_key,
            user_agent=self.settings.user_agent,
            scratch_dir=scratch,
            log=source_log,
            cancelled=run.stopping.is_set,
            notice=lambda text: self._notice(run, src, text),
            options=dict(spec.options),
            settings=dict(self.settings.source_settings.get(src.name, {})),
        )
        query = SourceQuery(
            text=spec.query.strip(), count=spec.count, is_url=url_input, options=spec.options
        )
        items = source.iterate(query, ctx).__aiter__()
        budget = self.settings.source_timeout
        seen: set[str] = set(run.resume.get(src.name, ()))
        # Give up on a source that yields far more candidates (or repeats) than it can deliver.
        max_candidates = spec.count * 4 + 20
        max_pulls = spec.count * 10 + 100
        pulls = 0
        downloads: set[asyncio.Task[None]] = set()
        transferring: set[str] = set()
        """URLs whose bytes are still on the network. A file handed to the database no longer
        holds a download slot, so connections don't sit idle while a batch commits."""
        changed = asyncio.Event()
        exhausted = False

        def fetched(url: str) -> None:
            transferring.discard(url)
            changed.set()

        try:
            while src.stored < spec.count:
                if (
                    exhausted
                    or len(transferring) >= self.settings.downloads_per_source
                    or len(downloads) - len(transferring) >= _STORE_BACKLOG
                    or src.unstored_bytes >= _STORE_BACKLOG_BYTES
                    or (src.stored + len(downloads) >= spec.count)
                ):
                    if not downloads:
                        break
                    changed.clear()
                    await changed.wait()
                    continue
                if src.found >= max_candidates or pulls >= max_pulls:
                    exhausted = True
                    continue
                pulls += 1
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        item = await anext(items)
                except StopAsyncIteration:
                    exhausted = True
                    continue
                except TimeoutError:
                    exhausted = True
                    src.state = SourceState.TIMED_OUT
                    src.error = SourceError(
                        f"searching took longer than SOURCE_TIMEOUT"
                        f" ({self.settings.source_timeout:g} s)"
                    )
                    continue
                finally:
                    budget -= time.monotonic() - started
                if item.url in seen:
                    # A source that repeats itself without ever awaiting would otherwise hold
                    # the event loop (and its own timeout) until max_pulls.
                    await asyncio.sleep(0)
                    continue
                seen.add(item.url)
                src.found += 1
                if src.state is SourceState.SEARCHING:
                    src.state = SourceState.DOWNLOADING
                self._progress(run, src)
                transferring.add(item.url)
                task = asyncio.create_task(self._download(run, src, item, scratch, fetched))
                downloads.add(task)

                def finished(
                    t: asyncio.Task[None],
                    task_set: set[asyncio.Task[None]] = downloads,
                    url: str = item.url,
                ) -> None:
                    task_set.discard(t)
                    fetched(url)

                task.add_done_callback(finished)
        finally:
            for task in downloads:
                task.cancel()
            if downloads:
                await asyncio.gather(*downloads, return_exceptions=True)
            with contextlib.suppress(Exception):
                aclose = getattr(items, "aclose", None)
                if aclose is not None:
                    await aclose()
        if src.stored == 0 and src.failed > 0 and src.error is None:
            src.error = SourceError(f"none of the {src.failed} files found could be stored")
            raise src.error

    async def _download(
        self,
        run: _JobRun,
        src: _SourceRun,
        item: Found,
        scratch: Path,
        fetched: Callable[[str], None],
    ) -> None:
        sink = self.storage.new_sink(run.owner)
        stored: StoredAsset | None = None
        added = 0
        """Bytes of this file counted in src.bytes so far (files download side by side)."""
        last = 0.0

        def progress(done: int, total: int | None, **extra: Any) -> None:
            nonlocal last, added
            src.bytes += done - added
            added = done
            now = time.monotonic()
            # The last report of a transfer of known size always goes out, so a client's
            # figure ends at 100 % rather than wherever the throttle last let one through.
            complete = total is not None and done >= total
            if complete or now - last >= _PROGRESS_INTERVAL:
                last = now
                self._publish(
                    TransferProgress(
                        job_id=run.info.id,
                        owner_id=run.owner,
                        source=src.name,
                        item=item.url,
                        downloaded=done,
                        total=total,
                        **extra,
                    )
                )
                self._progress(run, src)

        try:
            if item.download is not None:
                mime, metadata = await self._source_download(run, item, scratch, sink, progress)
            else:
                result = await self.fetcher.download(
                    item.url,
                    write=sink.write,
                    expect=item.expect,
                    headers=item.headers or None,
                    progress=progress,
                )
                mime, metadata = result.mime, {}
            src.unstored_bytes += sink.size
            fetched(item.url)
            try:
                stored = await sink.finish(
                    mime=mime, asset=_new_asset(run, src, item, mime, metadata)
                )
            finally:
                src.unstored_bytes -= sink.size
        except SourceError as exc:
            await sink.abort()
            src.bytes -= added
            src.failed += 1
            self._publish(
                ItemFailed(
                    job_id=run.info.id,
                    owner_id=run.owner,
                    source=src.name,
                    url=item.url,
                    error=str(exc),
                    error_code=exc.code,
                )
            )
            self._progress(run, src, force=True)
            return
        except BaseException:
            src.bytes -= added
            self._spawn_cleanup(sink.abort())
            raise
        src.stored += 1
        src.bytes += stored.size - added
        self._publish(
            AssetStored(
                job_id=run.info.id,
                owner_id=run.owner,
                source=src.name,
                asset_id=stored.asset_id,
                url=item.url,
                title=item.title,
                mime=stored.mime,
                size=stored.size,
                sha256=stored.sha256,
                deduplicated=stored.deduplicated,
            )
        )
        self._progress(run, src, force=True)

    async def _source_download(
        self,
        run: _JobRun,
        item: Found,
        scratch: Path,
        sink: Any,
        progress: Callable[..., None],
    ) -> tuple[str, dict[str, Any]]:
        """Run a source's own downloader with stall detection, then store the file it made."""
        assert item.download is not None
        loop = asyncio.get_running_loop()
        stall = self.settings.request_timeout
        last_sign = time.monotonic()
        stalled = threading.Event()

        def report(**values: Any) -> None:  # called from worker threads
            def apply() -> None:
                nonlocal last_sign
                last_sign = time.monotonic()
                downloaded = int(values.pop("downloaded", 0) or 0)
                total = values.pop("total", None)
                progress(downloaded, total, **values)

            loop.call_soon_threadsafe(apply)

        def cancelled() -> bool:
            return run.stopping.is_set() or stalled.is_set()

        await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
        tctx = TransferContext(
            scratch_dir=scratch,
            max_size=self.settings.max_file_size,
            stall_timeout=stall,
            report=report,
            cancelled=cancelled,
        )
        task = asyncio.ensure_future(item.download(tctx))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=min(1.0, stall / 4))
                if not task.done() and time.monotonic() - last_sign > stall:
                    stalled.set()
                    with contextlib.suppress(BaseException):
                        await task
                    raise StalledError(
                        f"{item.url}: no progress for REQUEST_TIMEOUT ({stall:g} s); abandoned"
                    )
            result: DownloadedFile = task.result()
        except BaseException:
            stalled.set()
            if not task.done():
                task.cancel()
            raise
        try:
            size = result.path.stat().st_size
            if size > self.settings.max_file_size:
                raise TooLargeError(
                    f"{item.url} is {size:,} bytes, more than the limit"
                    f" {self.settings.max_file_size:,}"
                )
            with result.path.open("rb") as fh:
                head = await asyncio.to_thread(fh.read, _FILE_READ)
                mime = sniff(head[:512], result.mime)
                if not accepts(item.expect, mime):
                    raise ContentRejectedError(
                        f"expected {item.expect} from {item.url}, got {mime or 'an unknown type'}"
                    )
                piece = head
                while piece:
                    await sink.write(piece)
                    piece = await asyncio.to_thread(fh.read, _FILE_READ)
        finally:
            with contextlib.suppress(OSError):
                result.path.unlink()
        return mime or result.mime or "application/octet-stream", dict(result.metadata)


def _with_error(info: JobInfo, message: str) -> JobInfo:
    from dataclasses import replace

    return replace(info, error=message)


def _new_asset(
    run: _JobRun, src: _SourceRun, item: Found, mime: str, metadata: dict[str, Any]
) -> NewAsset:
    kind = mime.split("/", 1)[0] if "/" in mime else "file"
    return NewAsset(
        job_id=run.info.id,
        source=src.name,
        kind=kind if kind in {"image", "video", "audio"} else "file",
        url=item.url,
        page_url=item.page_url,
        title=item.title,
        author=item.author,
        author_url=item.author_url,
        license=item.license,
        width=item.width,
        height=item.height,
        thumbnail_url=item.thumbnail_url,
        metadata={**item.metadata, **metadata},
    )


_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/svg+xml": ".svg", "video/quicktime": ".mov"}


def export_name(asset: AssetInfo) -> str:
    """A file name that is safe on every common file system and unique per asset."""
    stem = asset.title or asset.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "file"
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:80] or "file"
    ext = _EXTENSIONS.get(asset.mime) or mimetypes.guess_extension(asset.mime) or ".bin"
    return f"{asset.job_id}-{asset.id}-{stem}{ext}"
