"""A scripted stand-in for the engine, for driving the TUI in tests.

It keeps jobs and assets in memory, publishes events on a real :class:`~tuiapp.bus.EventBus`,
records every command the UI sends (``calls``), and lets a test play a job's life event by
event (``start``, ``progress``, ``store``, ``finish_source``, ``finish_job``).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.fake_watches import FakeWatches
from tuiapp.bus import EventBus, Subscription
from tuiapp.errors import InvalidRequestError, NotFoundError
from tuiapp.events import (
    AssetStored,
    Event,
    JobDeleted,
    JobFinished,
    JobStarted,
    JobSubmitted,
    SourceFinished,
    SourceProgress,
    SourceStarted,
)
from tuiapp.jobs import (
    TERMINAL_JOB_STATES,
    AssetInfo,
    Exported,
    JobInfo,
    JobSourceInfo,
    JobSpec,
    JobState,
    SourceInfo,
    SourceState,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tuiapp.config import Settings
    from tuiapp.jobs import ExportOptions, Selection

__all__ = ["EPOCH", "FakeEngine", "source_info"]

EPOCH = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
"""The fake's clock starts here; every job is created a minute after the previous one."""


def source_info(
    name: str, kind: str = "image_generator", key: str | None = None, configured: bool = True
) -> SourceInfo:
    return SourceInfo(
        name=name,
        kind=kind,
        description=f"{name} test source",
        takes_query=True,
        takes_url=True,
        key_setting=key,
        configured=configured,
        base_url=f"http://{name}.test",
    )


DEFAULT_SOURCES = (
    source_info("picsum"),
    source_info("robohash"),
    source_info("pexels", "image_search", key="PEXELS_API_KEY", configured=False),
    source_info("openverse", "image_search"),
)


class FakeEngine:
    """Implements the methods of :class:`tuiapp.client.EngineClient` over in-memory data."""

    def __init__(self, settings: Settings, sources: tuple[SourceInfo, ...] = DEFAULT_SOURCES):
        self.settings = settings
        self._sources = list(sources)
        self.bus = EventBus()
        self.jobs: dict[int, JobInfo] = {}
        self.assets: dict[int, tuple[AssetInfo, bytes]] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.job_searches: list[str | None] = []
        """The ``text`` of every ``list_jobs`` call."""
        """Commands the UI sent, e.g. ``("cancel", 1, "picsum")``."""
        self.url_routes: dict[str, str] = {"https://picsum.photos/": "picsum"}
        self.defaults: tuple[str, ...] = ()
        """What ``default_sources`` answers (the engine's: TUIAPP_DEFAULT_SOURCES or the ready
        keyless image search sources)."""
        self.watches = FakeWatches(self)

    # --- what the UI calls ---------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        return list(self._sources)

    def default_sources(self) -> tuple[str, ...]:
        return self.defaults

    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._sources)

    def source_for_url(self, url: str) -> str | None:
        for prefix, name in self.url_routes.items():
            if url.strip().startswith(prefix):
                return name
        return None

    def subscribe(self, *, owner: int | None = None) -> Subscription:
        return self.bus.subscribe(lambda e: e.owner_id == owner)

    async def submit(
        self, spec: JobSpec, owner: int | None = None, *, rerun_of: int | None = None
    ) -> JobInfo:
        """As the engine's front door, for the fake's sources: the picked sources, else the one
        that takes the URL; an empty query or an unknown source refused."""
        self.calls.append(("submit", spec.query, spec.sources, spec.count))
        if not spec.query.strip():
            raise InvalidRequestError("type a query")
        known = {s.name for s in self._sources}
        for name in spec.sources:
            if name not in known:
                raise InvalidRequestError(f"unknown source {name!r}")
        sources = spec.sources
        if not sources:
            routed = self.source_for_url(spec.query)
            if routed is None:
                raise InvalidRequestError("pick at least one source (see `tuiapp sources`)")
            sources = (routed,)
        return self.add_job(spec.query, sources, count=spec.count, owner=owner, rerun_of=rerun_of)

    async def cancel(self, job_id: int, owner: int | None, source: str | None = None) -> JobInfo:
        self.calls.append(("cancel", job_id, source))
        job = self._job(job_id, owner)
        if source is not None:
            self.finish_source(job_id, source, SourceState.CANCELLED)
        elif job.state not in TERMINAL_JOB_STATES:
            self.finish_job(job_id, JobState.CANCELLED, error="cancelled")
        return self.jobs[job_id]

    async def rerun(self, job_id: int, owner: int | None) -> JobInfo:
        self.calls.append(("rerun", job_id))
        job = self._job(job_id, owner)
        return self.add_job(
            job.query,
            tuple(s.source for s in job.sources),
            count=job.count,
            owner=owner,
            rerun_of=job_id,
        )

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo:
        return self._job(job_id, owner)

    async def list_jobs(
        self, owner: int | None, *, text: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[JobInfo]:
        self.job_searches.append(text)
        words = (text or "").lower().split()
        mine = [
            j
            for j in self.jobs.values()
            if j.owner_id == owner
            and all(
                w in f"{j.query} {j.state.value} {' '.join(s.source for s in j.sources)}".lower()
                or w == str(j.id)
                for w in words
            )
        ]
        mine.sort(key=lambda j: j.id, reverse=True)
        return mine[offset : offset + limit]

    async def delete_job(self, job_id: int, owner: int | None) -> None:
        self.calls.append(("delete", job_id))
        self._job(job_id, owner)
        del self.jobs[job_id]
        for asset_id in [a for a, (info, _) in self.assets.items() if info.job_id == job_id]:
            del self.assets[asset_id]
        self.bus.publish(JobDeleted(job_id=job_id, owner_id=owner))

    async def list_assets(
        self,
        owner: int | None,
        *,
        job_id: int | None = None,
        unique: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetInfo]:
        found = [
            info
            for info, _ in self.assets.values()
            if info.owner_id == owner
            and (job_id is None or info.job_id == job_id)
            and not (unique and info.duplicate_of is not None)
        ]
        return found[offset : offset + limit]

    async def get_asset(self, asset_id: int, owner: int | None) -> AssetInfo:
        return self._asset(asset_id, owner)[0]

    async def read_asset(
        self, asset_id: int, owner: int | None
    ) -> tuple[AssetInfo, AsyncIterator[bytes]]:
        info, data = self._asset(asset_id, owner)

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 1000):
                yield data[start : start + 1000]

        return info, chunks()

    async def export_job(
        self, job_id: int, owner: int | None, directory: Path, *, unique: bool = False
    ) -> Exported:
        self.calls.append(("export", job_id, directory, unique))
        self._job(job_id, owner)
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        done = Exported()
        for info, data in self.assets.values():
            if info.job_id == job_id and not (unique and info.duplicate_of is not None):
                path = directory / f"{job_id}-{info.id}.bin"
                if path.exists() and path.read_bytes() == data:
                    done.already.append(path)
                    continue
                await asyncio.to_thread(path.write_bytes, data)
                done.written.append(path)
        return done

    async def find(
        self, owner: int | None, selection: Selection, *, limit: int = 100, offset: int = 0
    ) -> list[AssetInfo]:
        """Newest first; words must all appear in the title (the engine's index does more)."""
        words = (selection.text or "").lower().split()
        found = [
            info
            for info, _ in reversed(self.assets.values())
            if info.owner_id == owner
            and all(w in (info.title or "").lower() for w in words)
            and selection.source in (None, info.source)
            and selection.job_id in (None, info.job_id)
        ]
        return found[offset : offset + limit]

    async def export(
        self, selection: Selection, owner: int | None, directory: Path, options: ExportOptions
    ) -> Exported:
        self.calls.append(("export_search", selection, directory, options))
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        done = Exported()
        for info in await self.find(owner, selection, limit=10**9):
            path = directory / f"{info.job_id}-{info.id}.bin"
            await asyncio.to_thread(path.write_bytes, self.assets[info.id][1])
            done.written.append(path)
        return done

    # --- what a test scripts -------------------------------------------------------------------

    def push(self, event: Event) -> None:
        self.bus.publish(event)

    def add_job(
        self,
        query: str,
        sources: tuple[str, ...],
        *,
        count: int = 10,
        owner: int | None = None,
        state: JobState = JobState.QUEUED,
        rerun_of: int | None = None,
        announce: bool = True,
    ) -> JobInfo:
        job_id = max(self.jobs, default=0) + 1
        info = JobInfo(
            id=job_id,
            query=query,
            sources=tuple(JobSourceInfo(source=s, state=SourceState.QUEUED) for s in sources),
            count=count,
            options={},
            state=state,
            owner_id=owner,
            created_at=EPOCH + timedelta(minutes=job_id),
            rerun_of=rerun_of,
        )
        self.jobs[job_id] = info
        if announce:
            self.push(
                JobSubmitted(
                    job_id=job_id, owner_id=owner, query=query, sources=sources, count=count
                )
            )
        return info

    def start(self, job_id: int, *, ts: float | None = None) -> None:
        job = self.jobs[job_id]
        started = EPOCH + timedelta(minutes=job_id)
        self.jobs[job_id] = replace(job, state=JobState.RUNNING, started_at=started)
        self.push(
            JobStarted(
                job_id=job_id,
                owner_id=job.owner_id,
                timeout=self.settings.global_job_timeout,
                ts=started.timestamp() if ts is None else ts,
            )
        )
        for s in job.sources:
            self._set_source(job_id, s.source, state=SourceState.SEARCHING)
            self.push(
                SourceStarted(
                    job_id=job_id,
                    owner_id=job.owner_id,
                    source=s.source,
                    state=SourceState.SEARCHING,
                    ts=started.timestamp(),
                )
            )

    def progress(
        self,
        job_id: int,
        source: str,
        *,
        found: int = 0,
        stored: int = 0,
        failed: int = 0,
        size: int = 0,
        speed: float = 0.0,
        state: SourceState = SourceState.DOWNLOADING,
        ts: float | None = None,
    ) -> None:
        """Counters of one source; ``ts`` defaults to five seconds after the job started."""
        job = self.jobs[job_id]
        self._set_source(
            job_id, source, state=state, found=found, stored=stored, failed=failed, bytes=size
        )
        self.push(
            SourceProgress(
                job_id=job_id,
                owner_id=job.owner_id,
                source=source,
                state=state,
                found=found,
                stored=stored,
                failed=failed,
                bytes=size,
                speed=speed,
                ts=(EPOCH + timedelta(minutes=job_id, seconds=5)).timestamp() if ts is None else ts,
            )
        )

    def store(
        self,
        job_id: int,
        source: str,
        data: bytes,
        *,
        title: str | None = None,
        mime: str = "image/png",
        width: int | None = None,
        height: int | None = None,
        author: str | None = None,
        license: str | None = None,  # noqa: A002 - the AssetInfo field's name
        duplicate_of: int | None = None,
    ) -> AssetInfo:
        job = self.jobs[job_id]
        asset_id = max(self.assets, default=0) + 1
        info = AssetInfo(
            id=asset_id,
            job_id=job_id,
            source=source,
            url=f"http://{source}.test/{asset_id}.png",
            page_url=None,
            title=title,
            author=author,
            author_url=None,
            license=license,
            width=width,
            height=height,
            thumbnail_url=None,
            kind="image" if mime.startswith("image/") else "video",
            metadata={},
            mime=mime,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            owner_id=job.owner_id,
            created_at=EPOCH + timedelta(minutes=job_id, seconds=asset_id),
            duplicate_of=duplicate_of,
        )
        self.assets[asset_id] = (info, data)
        self.push(
            AssetStored(
                job_id=job_id,
                owner_id=job.owner_id,
                source=source,
                asset_id=asset_id,
                url=info.url,
                title=title,
                mime=mime,
                size=len(data),
                sha256=info.sha256,
                deduplicated=False,
            )
        )
        return info

    def finish_source(
        self,
        job_id: int,
        source: str,
        state: SourceState,
        error: str | None = None,
        code: str | None = None,
    ) -> None:
        job = self.jobs[job_id]
        current = next(s for s in job.sources if s.source == source)
        code = code if code is not None or error is None else "source_error"
        self._set_source(job_id, source, state=state, error=error, error_code=code)
        self.push(
            SourceFinished(
                job_id=job_id,
                owner_id=job.owner_id,
                source=source,
                state=state,
                found=current.found,
                stored=current.stored,
                failed=current.failed,
                bytes=current.bytes,
                error=error,
                error_code=code,
            )
        )

    def finish_job(
        self, job_id: int, state: JobState = JobState.DONE, error: str | None = None
    ) -> None:
        job = self.jobs[job_id]
        started = job.started_at or job.created_at
        finished = started + timedelta(seconds=12)
        self.jobs[job_id] = replace(job, state=state, finished_at=finished, error=error)
        self.push(
            JobFinished(
                job_id=job_id,
                owner_id=job.owner_id,
                state=state,
                stored=job.stored,
                failed=job.failed,
                bytes=job.bytes,
                elapsed=12.0,
                error=error,
            )
        )

    # --- internals -----------------------------------------------------------------------------

    def _set_source(self, job_id: int, source: str, **changes: Any) -> None:
        job = self.jobs[job_id]
        self.jobs[job_id] = replace(
            job,
            sources=tuple(replace(s, **changes) if s.source == source else s for s in job.sources),
        )

    def _job(self, job_id: int, owner: int | None) -> JobInfo:
        job = self.jobs.get(job_id)
        if job is None or job.owner_id != owner:
            raise NotFoundError(f"no job {job_id}")
        return job

    def _asset(self, asset_id: int, owner: int | None) -> tuple[AssetInfo, bytes]:
        found = self.assets.get(asset_id)
        if found is None or found[0].owner_id != owner:
            raise NotFoundError(f"no asset {asset_id}")
        return found
