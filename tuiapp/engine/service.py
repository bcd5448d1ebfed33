"""The engine's facade, :class:`Engine`: the one room that wires the others.

Clients (TUI, HTTP API, CLI) call its public methods and watch its events; they never download,
parse or write the database themselves. Jobs run as :class:`~tuiapp.engine.runner.JobRun` s in
this process, or, with a shared queue, in whichever worker claims them
(:mod:`tuiapp.engine.cluster`).

Time limits:
- ``REQUEST_TIMEOUT``: connect, and the longest silence inside one transfer (stall detection).
- ``SOURCE_TIMEOUT``: time spent waiting on a source's search/listing; transfers don't count.
- ``GLOBAL_JOB_TIMEOUT``: the job's hard budget; what was stored stays, partial files go.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tuiapp import sources as registry
from tuiapp.bus import EventBus, Subscription
from tuiapp.engine import export
from tuiapp.engine.doctor import DoctorReport, run_checks, source_checks, source_infos
from tuiapp.engine.hash_process import HashProcess, HashProcessError
from tuiapp.engine.intake import admit, default_sources
from tuiapp.engine.near_duplicates import backfill
from tuiapp.engine.runtime import Runtime
from tuiapp.engine.thumbnails import Thumbnails
from tuiapp.engine.watches import Scheduler, Watches
from tuiapp.errors import InvalidRequestError, UnauthorizedError, UnavailableError
from tuiapp.events import JobDeleted, JobSubmitted
from tuiapp.jobs import TERMINAL_JOB_STATES, ExportOptions, JobState, Selection, SourceInfo
from tuiapp.phash import MAX_DISTANCE
from tuiapp.storage import Storage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tuiapp.config import Settings
    from tuiapp.engine.cluster import Cluster
    from tuiapp.events import Event
    from tuiapp.jobs import AssetInfo, Exported, JobInfo, JobSpec, UserInfo

__all__ = ["Engine"]

BACKFILL_DELAY = 5.0
"""Seconds after start before older pictures are fingerprinted (a one-shot command such as
`tuiapp jobs` has ended by then and never starts the hashing process)."""


class Engine:
    """Runs jobs. Use ``async with Engine(settings) as engine`` (or ``start``/``close``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        storage: Storage | None = None,
        worker: bool = False,
        schedule: bool = False,
    ) -> None:
        """
        Args:
            settings: the settings to run with.
            storage: a storage to use instead of one on ``settings.database_url``.
            worker: claim and run jobs from the shared queue (implies queue mode).
            schedule: run due watches (a process that runs jobs: the terminal app, the
                server, a worker).
        """
        self.settings = settings
        self.storage = storage or Storage(settings.database_url)
        self.bus = EventBus()
        self.runtime = Runtime(
            settings=settings,
            storage=self.storage,
            publish=self._publish,
            source_slots=asyncio.Semaphore(settings.max_concurrent_sources),
            hasher=HashProcess() if settings.near_duplicates else None,
        )
        self.cluster: Cluster | None = None
        """Jobs go through the database's queue instead of running where they were submitted."""
        if settings.queue or worker:
            from tuiapp.engine.cluster import Cluster  # its room loads only with a shared queue

            self.cluster = Cluster(
                self.runtime, deliver=self.bus.publish, resync=self.bus.resync, worker=worker
            )
        self.interrupted: list[int] = []
        """Jobs found interrupted (their process died) when this engine started."""
        self.backfill: asyncio.Task[int] | None = None
        """Hashing of stored pictures that have no hash yet (see :mod:`.near_duplicates`)."""
        self.indexing: asyncio.Task[int] | None = None
        """Search indexing of files stored before the index existed (large old databases)."""
        self.thumbnails = Thumbnails(self.storage, self.runtime.hasher)
        self.watches = Watches(
            self.runtime, Scheduler(self.runtime, launch=self._launch, bus=self.bus)
        )
        """Saved topics run as new-only jobs (:mod:`.watches`)."""
        self._schedule = schedule

    @property
    def events_live(self) -> bool | None:
        """Whether events of other processes sharing the queue reach this one now; None when
        this process shares no queue (or the database carries no messages)."""
        return None if self.cluster is None else self.cluster.events_live

    @property
    def worker(self) -> bool:
        return self.cluster is not None and self.cluster.worker

    async def start(self) -> None:
        await self.storage.open()
        if self.cluster is None:
            # With a shared queue a dead worker's job is taken over when its lease ends.
            self.interrupted = await self.storage.recover()
        self.indexing = asyncio.create_task(self.storage.fill_search())
        if self.cluster is not None:
            await self.cluster.start()
        if self.runtime.hasher is not None:
            self.backfill = asyncio.create_task(
                backfill(self.storage, self.runtime.hasher, delay=BACKFILL_DELAY)
            )
        if self._schedule:
            self.watches.scheduler.start()

    async def close(self) -> None:
        """Stop running jobs, then close connections.

        Jobs end ``cancelled``; a worker's jobs go back to the queue for another worker.
        """
        await self.watches.scheduler.stop()
        if self.cluster is not None:
            await self.cluster.stop_loops()
        for task in (self.backfill, self.indexing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        runs = list(self.runtime.runs.values())
        for run in runs:
            if run.claimed:
                run.stop(JobState.QUEUED, "the worker stopped; back in the queue")
            else:
                run.stop(JobState.CANCELLED, "tuiapp was closed while the job ran")
        for run in runs:
            await run.done.wait()
        if self.runtime.cleanups:
            await asyncio.gather(*self.runtime.cleanups, return_exceptions=True)
        if self.cluster is not None:
            await self.cluster.close()
        if self.runtime.fetcher is not None:  # made by the first job that ran here
            await self.runtime.fetcher.close()
        await self.storage.close()
        if self.runtime.hasher is not None:
            await self.runtime.hasher.close()
        await self.thumbnails.close()
        self.bus.close()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- sources and users --------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        """Every source, with whether it is ready to run here (checked without the network)."""
        return source_infos(self.settings)

    def default_sources(self) -> tuple[str, ...]:
        """The sources search words go to when none is picked (``TUIAPP_DEFAULT_SOURCES``, else
        the keyless image search sources ready here); empty when there are none to offer."""
        try:
            return default_sources(self.settings)
        except InvalidRequestError:
            return ()

    def source_names(self) -> tuple[str, ...]:
        """Every source's name, in the registry's order (nothing is loaded to tell)."""
        return registry.names()

    def source_for_url(self, url: str) -> str | None:
        """The source a URL typed into a job goes to, if any."""
        cls = registry.find(url.strip())
        return cls.name if cls is not None else None

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

    async def sign_in(self, token: str, lifetime: float) -> tuple[UserInfo, str]:
        """Exchange an API token for a web session of ``lifetime`` seconds: the user and the
        session's key (for a cookie; only its hash is kept).

        Raises:
            UnauthorizedError: the token is not valid.
        """
        user = await self.authenticate(token)
        assert user is not None
        return user, await self.storage.create_session(user.id, lifetime)

    async def session_user(self, key: str) -> UserInfo | None:
        """The user of a live web session; None when it ended or expired."""
        return await self.storage.session_user(key)

    async def sign_out(self, key: str) -> None:
        """End a web session (no error when it had ended)."""
        await self.storage.end_session(key)

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
        if self.cluster is not None:
            self.cluster.published(event)

    # --- jobs ---------------------------------------------------------------------------------

    async def submit(
        self, spec: JobSpec, owner: int | None = None, *, rerun_of: int | None = None
    ) -> JobInfo:
        """The front door for jobs: check and route ``spec`` as the user gave it, record the
        job and start it. Returns at once with the job queued.

        ``spec.sources`` may be empty (a URL goes to the source that claims it, search words to
        the default sources), in any case, or ``a,b`` lists (see :mod:`.intake`).

        Raises:
            InvalidRequestError: the one sentence every client shows (CLI exit 2, API 400).
        """
        spec = admit(spec, self.settings)
        info = await self.storage.create_job(
            spec, owner=owner, settings=self.settings.snapshot(), rerun_of=rerun_of
        )
        self._launch(info)
        return info

    def _launch(self, info: JobInfo) -> None:
        """Start a recorded, queued job here, or hand it to the shared queue."""
        submitted = JobSubmitted(
            job_id=info.id,
            owner_id=info.owner_id,
            query=info.query,
            sources=tuple(s.source for s in info.sources),
            count=info.count,
        )
        if self.cluster is not None:
            self.bus.publish(submitted)
            self.cluster.submitted(submitted)
            return
        from tuiapp.engine.runner import JobRun  # loaded with the first job run here

        run = JobRun(self.runtime, info, info.owner_id)
        self._publish(submitted)
        run.start()

    async def cancel(self, job_id: int, owner: int | None, source: str | None = None) -> JobInfo:
        """Cancel a running job, or one source of it. Cancelling a finished job changes nothing."""
        info = await self.storage.get_job(job_id, owner)
        if source is not None and source not in {s.source for s in info.sources}:
            raise InvalidRequestError(f"job {job_id} has no source {source!r:.40}")
        run = self.runtime.runs.get(job_id)
        if run is not None:
            run.cancel(source)
        elif self.cluster is not None and info.state not in TERMINAL_JOB_STATES:
            await self.cluster.cancel(job_id, owner, source)
        return info

    async def rerun(self, job_id: int, owner: int | None) -> JobInfo:
        info = await self.storage.get_job(job_id, owner)
        return await self.submit(info.spec, owner, rerun_of=job_id)

    async def wait(self, job_id: int, owner: int | None) -> JobInfo:
        """Wait until the job has finished; returns its final state."""
        runs = self.runtime.runs
        run = runs.get(job_id)
        if run is not None:
            await run.done.wait()
        info = await self.storage.get_job(job_id, owner)
        while info.state not in TERMINAL_JOB_STATES and job_id not in runs:
            await asyncio.sleep(0.25)  # run by another process: watch the database
            info = await self.storage.get_job(job_id, owner)
        run = runs.get(job_id)
        if run is not None:  # claimed by this worker in the meantime
            await run.done.wait()
            info = await self.storage.get_job(job_id, owner)
        return info

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo:
        info = await self.storage.get_job(job_id, owner)
        run = self.runtime.runs.get(job_id)
        return info if run is None else run.live_view(info)

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
        runs = self.runtime.runs
        return [runs[i.id].live_view(i) if i.id in runs else i for i in infos]

    async def delete_job(self, job_id: int, owner: int | None) -> None:
        """Delete a job, its assets and the blobs nothing else uses. A running job is cancelled."""
        info = await self.storage.get_job(job_id, owner)
        run = self.runtime.runs.get(job_id)
        if run is not None:
            run.stop(JobState.CANCELLED, "deleted")
            await run.done.wait()
        elif self.cluster is not None and info.state not in TERMINAL_JOB_STATES:
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
        unique: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetInfo]:
        """The owner's assets; ``unique``: none that is a near-duplicate of a better copy."""
        return await self.storage.list_assets(
            owner,
            job_id=job_id,
            source=source,
            kind=kind,
            text=text,
            unique=unique,
            limit=limit,
            offset=offset,
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

    async def thumbnail(self, asset_id: int, owner: int | None) -> tuple[bytes, str] | None:
        """A stored picture's thumbnail (longest side 320 px) and its media type, made once and
        kept; None when the file is no picture (a video, say)."""
        try:
            return await self.thumbnails.get(asset_id, owner)
        except HashProcessError as exc:
            raise UnavailableError(f"no thumbnail could be made just now ({exc})") from None

    async def export_job(
        self,
        job_id: int,
        owner: int | None,
        directory: Path,
        *,
        overwrite: bool = False,
        unique: bool = False,
    ) -> Exported:
        """Write a job's files into ``directory`` under safe, unique names (as :meth:`export`);
        one already there with the same bytes is counted, not written again.

        ``unique``: one file per picture (near-duplicates skipped).
        """
        return await export.export_job(
            self.storage, job_id, owner, directory, overwrite=overwrite, unique=unique
        )

    async def export_asset(self, asset_id: int, owner: int | None, directory: Path) -> Exported:
        """Write one stored file into ``directory``, named as :meth:`export_job` names it."""
        return await export.export_asset(self.storage, asset_id, owner, directory)

    async def export(
        self, selection: Selection, owner: int | None, directory: Path, options: ExportOptions
    ) -> Exported:
        """Write the selected files into ``directory``, with sidecars if asked and the credits.

        Never writes through a symlink; an existing file is overwritten only with ``overwrite``;
        one already there with the same bytes is counted (``Exported.already``), not written.
        """
        return await export.export_to(self.storage, owner, selection, directory, options)

    async def zip(
        self, selection: Selection, owner: int | None, options: ExportOptions
    ) -> AsyncIterator[bytes]:
        """The selected files as a zip, streamed: what :meth:`export` would write, as entries.

        Raises (before the first byte):
            NotFoundError: no such job; InvalidRequestError: a bad template.
        """
        return await export.zip_of(self.storage, owner, selection, options)

    async def search_pending(self) -> int:
        """Older files not searchable yet while the index is filled after an upgrade: up to
        which id (0: every file is searchable)."""
        return await self.storage.search_pending()

    async def find(
        self,
        owner: int | None,
        selection: Selection,
        *,
        limit: int = 100,
        offset: int = 0,
        oldest_first: bool = False,
    ) -> list[AssetInfo]:
        """The owner's stored files that ``selection`` takes: best matches first with words,
        nearest first with ``similar_to``, else newest first (``oldest_first``: oldest)."""
        return await self.storage.find_assets(
            owner,
            selection,
            limit=limit,
            offset=offset,
            max_distance=MAX_DISTANCE,
            oldest_first=oldest_first,
        )

    async def integrity_report(self) -> dict[str, Any]:
        return await self.storage.integrity_report()

    async def doctor(self, *, offline: bool = False) -> DoctorReport:
        """What this installation can and cannot do: data folder, database, then each source's
        needs and (unless ``offline``) a reach test of its host."""
        checks = await run_checks(self.settings, self.storage)
        rows = await source_checks(self.settings, self.runtime.base_url, offline=offline)
        return DoctorReport(checks=tuple(checks), sources=tuple(rows), offline=offline)
