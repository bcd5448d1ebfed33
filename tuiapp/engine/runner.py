"""Running one job: a :class:`JobRun` runs its sources as :class:`SourceRun` s side by side.

A source run searches, hands each find to :func:`~tuiapp.engine.transfer.transfer`, stores the
bytes and keeps its counters; the job run starts them, enforces the job's budget, and records how
the job ended. Both speak to the outside only through the storage and a ``publish`` callable:
they never import the engine's service or a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tuiapp import sources as registry
from tuiapp.engine.transfer import transfer
from tuiapp.errors import (
    BlockedError,
    FencedError,
    MissingKeyError,
    SourceError,
    TuiappError,
    UnreachableError,
    UnsupportedURLError,
)
from tuiapp.events import (
    AssetStored,
    ItemFailed,
    JobFinished,
    JobStarted,
    SourceFinished,
    SourceNotice,
    SourceProgress,
    SourceStarted,
    TransferProgress,
)
from tuiapp.jobs import TERMINAL_SOURCE_STATES, JobInfo, JobSpec, JobState, SourceState
from tuiapp.sources.base import SourceContext, SourceQuery
from tuiapp.storage import NewAsset

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
    from pathlib import Path

    from tuiapp.config import Settings
    from tuiapp.events import Event
    from tuiapp.fetch import Fetcher
    from tuiapp.sources.base import Found
    from tuiapp.storage import Storage, StoredAsset

__all__ = ["Claim", "Crew", "JobRun", "SourceRun", "is_url"]

log = logging.getLogger("tuiapp.engine")

PROGRESS_INTERVAL = 0.1
"""Seconds between progress events of one source or one transfer (they are coalesced anyway)."""
OFFLINE_AFTER = 3
"""Connection failures in a row to one host after which a source gives up on it."""
EXTRA_FAILURES = 10
"""Failed files a source may have beyond its count before it gives up."""
_STORE_BACKLOG = 256
_STORE_BACKLOG_BYTES = 16 * 1024 * 1024
"""Files (and bytes) of one source fetched but not yet committed: bounds memory when the
database lags behind the network, while letting the writer commit large batches."""


_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def is_url(text: str) -> bool:
    """Whether a query is a URL (then sources that take URLs get it) rather than search words."""
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
class Crew:
    """What every run of one engine shares: its tools, its limits and its book of runs."""

    settings: Settings
    storage: Storage
    fetcher: Fetcher
    publish: Callable[[Event], None]
    source_slots: asyncio.Semaphore
    runs: dict[int, JobRun] = field(default_factory=dict)
    """The jobs running in this process, by id."""
    cleanups: set[asyncio.Task[Any]] = field(default_factory=set)
    """Work that ends before the job does: partial files discarded, sites told of stored files."""

    def spawn_cleanup(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)

    def base_url(self, name: str) -> str:
        return self.settings.base_urls.get(name, registry.get(name).base_url)


@dataclass(frozen=True, slots=True)
class Claim:
    """How a worker holds a job taken from the shared queue."""

    token: int
    """The job's claim count when taken: every write for the job is fenced by it."""
    resume: Mapping[str, set[str]] = field(default_factory=dict)
    """URLs stored under earlier claims, per source."""
    stored_bytes: Mapping[str, int] = field(default_factory=dict)
    """Bytes stored under earlier claims, per source."""


class SourceRun:
    """One source of a running job: search, download, store, count, report."""

    def __init__(self, job: JobRun, name: str) -> None:
        self.job = job
        self.name = name
        self.state = SourceState.QUEUED
        self.found = 0
        self.stored = 0
        self.failed = 0
        self.bytes = 0
        self.error: TuiappError | None = None
        self.task: asyncio.Task[None] | None = None
        self.cancel_requested = False
        self._speed = _Speed()
        self._last_progress = 0.0
        self._unstored_bytes = 0
        """Bytes fetched and waiting for the database."""
        self._unreachable: dict[str, int] = {}
        """Connection failures in a row, per host."""
        self._give_up: SourceError | None = None
        """Set by a download that shows the source cannot go on; the search loop raises it."""

    @property
    def crew(self) -> Crew:
        return self.job.crew

    def counters(self) -> dict[str, int]:
        return {
            "found": self.found,
            "stored": self.stored,
            "failed": self.failed,
            "bytes": self.bytes,
        }

    def cancel(self) -> None:
        """Stop this source alone; the job goes on with the others."""
        self.cancel_requested = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def save(self) -> None:
        """Write the state and counters to the database (never once the job is lost)."""
        if self.job.lost:
            return
        try:
            await self.crew.storage.update_job_source(
                self.job.id,
                self.name,
                fence=self.job.fence,
                state=self.state,
                **self.counters(),
                error=None if self.error is None else str(self.error),
                error_code=None if self.error is None else self.error.code,
            )
        except FencedError as exc:
            self.job.fenced(str(exc))

    def notice(self, text: str) -> None:
        log.info("job %s, %s: %s", self.job.id, self.name, text)
        notice = SourceNotice(
            job_id=self.job.id, owner_id=self.job.owner, source=self.name, message=text
        )
        self.crew.publish(notice)

    def progress(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        self.crew.publish(
            SourceProgress(
                job_id=self.job.id,
                owner_id=self.job.owner,
                source=self.name,
                state=self.state.value,
                **self.counters(),
                speed=self._speed.add(self.bytes),
            )
        )

    async def run(self, spec: JobSpec, url_input: bool) -> None:
        """Run the source to its end; the state and error say how it ended."""
        try:
            async with self.crew.source_slots:
                self.state = SourceState.SEARCHING
                await self.save()
                self.crew.publish(
                    SourceStarted(
                        job_id=self.job.id,
                        owner_id=self.job.owner,
                        source=self.name,
                        state=self.state.value,
                    )
                )
                await self._search_and_download(spec, url_input)
                if self.state is not SourceState.TIMED_OUT:
                    self.state = SourceState.DONE
        except asyncio.CancelledError:
            if self.cancel_requested:
                self.state = SourceState.CANCELLED
                self.error = None
            elif self.job.stop_reason is JobState.TIMED_OUT:
                self.state = SourceState.TIMED_OUT
            else:
                self.state = SourceState.CANCELLED
            if not self.cancel_requested:
                raise
        except BlockedError as exc:
            self.state, self.error = SourceState.BLOCKED, exc
        except TuiappError as exc:
            self.state, self.error = SourceState.FAILED, exc
        except Exception as exc:
            log.exception("source %s of job %s crashed", self.name, self.job.id)
            self.state, self.error = SourceState.FAILED, SourceError(f"internal error: {exc!r}")
        finally:
            await asyncio.shield(self._end())

    async def _end(self) -> None:
        await self.save()
        self.progress(force=True)
        self.crew.publish(
            SourceFinished(
                job_id=self.job.id,
                owner_id=self.job.owner,
                source=self.name,
                state=self.state.value,
                **self.counters(),
                error=None if self.error is None else str(self.error),
                error_code=None if self.error is None else self.error.code,
            )
        )

    def _context(self, spec: JobSpec, api_key: str | None) -> SourceContext:
        settings = self.crew.settings
        return SourceContext(
            http=self.crew.fetcher,
            base_url=self.crew.base_url(self.name),
            api_key=api_key,
            user_agent=settings.user_agent,
            scratch_dir=self.scratch,
            log=logging.getLogger(f"tuiapp.sources.{self.name}"),
            cancelled=self.job.stopping.is_set,
            notice=self.notice,
            options=dict(spec.options),
            settings=dict(settings.source_settings.get(self.name, {})),
            cache_dir=settings.data_dir / "cache" / self.name,
        )

    @property
    def scratch(self) -> Path:
        return self.job.scratch / self.name

    async def _search_and_download(self, spec: JobSpec, url_input: bool) -> None:
        settings = self.crew.settings
        cls = registry.get(self.name)
        if url_input and not cls.matches(spec.query.strip()):
            if cls.takes_url():
                raise UnsupportedURLError(f"{self.name} does not take this URL")
            raise UnsupportedURLError(f"{self.name} searches by words and does not take URLs")
        if not url_input and not cls.takes_query:
            raise UnsupportedURLError(f"{self.name} takes only URLs, not search words")
        api_key = settings.api_key(cls.key_setting)
        if cls.key_setting is not None and api_key is None:
            raise MissingKeyError(cls.key_setting)

        query = SourceQuery(
            text=spec.query.strip(), count=spec.count, is_url=url_input, options=spec.options
        )
        items = cls().iterate(query, self._context(spec, api_key)).__aiter__()
        budget = settings.source_timeout
        seen: set[str] = set(self.job.resume.get(self.name, ()))
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
            while self.stored < spec.count:
                if self._give_up is not None:
                    raise self._give_up
                if (
                    exhausted
                    or len(transferring) >= settings.downloads_per_source
                    or len(downloads) - len(transferring) >= _STORE_BACKLOG
                    or self._unstored_bytes >= _STORE_BACKLOG_BYTES
                    or (self.stored + len(downloads) >= spec.count)
                ):
                    if not downloads:
                        break
                    changed.clear()
                    await changed.wait()
                    continue
                if self.found >= max_candidates or pulls >= max_pulls:
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
                    self.state = SourceState.TIMED_OUT
                    self.error = SourceError(
                        f"searching took longer than SOURCE_TIMEOUT ({settings.source_timeout:g} s)"
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
                self.found += 1
                if self.state is SourceState.SEARCHING:
                    self.state = SourceState.DOWNLOADING
                self.progress()
                transferring.add(item.url)
                task = asyncio.create_task(self._download(item, fetched))
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
            await _close(items)
        if self.stored == 0 and self.failed > 0 and self.error is None:
            self.error = SourceError(f"none of the {self.failed} files found could be stored")
            raise self.error

    async def _download(self, item: Found, fetched: Callable[[str], None]) -> None:
        """Fetch one item and store it; count and announce what happened."""
        crew = self.crew
        sink = crew.storage.new_sink(self.job.owner)
        stored: StoredAsset | None = None
        added = 0
        """Bytes of this file counted in self.bytes so far (files download side by side)."""
        last = 0.0

        def progress(done: int, total: int | None, **extra: Any) -> None:
            nonlocal last, added
            self.bytes += done - added
            added = done
            now = time.monotonic()
            # The last report of a transfer of known size always goes out, so a client's
            # figure ends at 100 % rather than wherever the throttle last let one through.
            complete = total is not None and done >= total
            if complete or now - last >= PROGRESS_INTERVAL:
                last = now
                crew.publish(
                    TransferProgress(
                        job_id=self.job.id,
                        owner_id=self.job.owner,
                        source=self.name,
                        item=item.url,
                        downloaded=done,
                        total=total,
                        **extra,
                    )
                )
                self.progress()

        try:
            moved = await transfer(
                item,
                sink,
                fetcher=crew.fetcher,
                scratch=self.scratch,
                max_size=crew.settings.max_image_size
                if item.expect == "image"
                else crew.settings.max_file_size,
                stall_timeout=crew.settings.request_timeout,
                progress=progress,
                cancelled=self.job.stopping.is_set,
            )
        except SourceError as exc:
            await sink.abort()
            self.bytes -= added
            self.failed += 1
            self._judge_failure(exc, item.url, spec_count=self.job.info.count)
            crew.publish(
                ItemFailed(
                    job_id=self.job.id,
                    owner_id=self.job.owner,
                    source=self.name,
                    url=item.url,
                    error=str(exc),
                    error_code=exc.code,
                )
            )
            self.progress(force=True)
            return
        except BaseException:
            self.bytes -= added
            crew.spawn_cleanup(sink.abort())
            raise
        self._unstored_bytes += sink.size
        fetched(item.url)
        # The one place that decides whether a file belongs to the job: once its bytes are
        # handed to the database, the commit's outcome does. A cut (cancel, budget) waits for
        # it, so a file that lands is counted and announced before the job's end, and one that
        # does not land is not.
        commit = asyncio.ensure_future(
            sink.finish(mime=moved.mime, asset=self._new_asset(item, moved.mime, moved.metadata))
        )
        cut: asyncio.CancelledError | None = None
        try:
            while True:
                try:
                    stored = await asyncio.shield(commit)
                    break
                except asyncio.CancelledError as exc:
                    if commit.cancelled():
                        raise
                    cut = exc
        except FencedError as exc:
            self.bytes -= added
            self.job.fenced(str(exc))
            if cut is not None:
                raise cut from None
            return
        except BaseException:
            self.bytes -= added
            raise
        finally:
            self._unstored_bytes -= sink.size
        self._stored(item, stored, added)
        if item.on_stored is not None:
            self.crew.spawn_cleanup(_tell_stored(item, self.name))
        if cut is not None:
            raise cut

    def _judge_failure(self, exc: SourceError, url: str, *, spec_count: int) -> None:
        """Give up on the source when its files keep failing: a dead host, or far too many."""
        host = urlsplit(url).hostname or url
        if isinstance(exc, UnreachableError):
            self._unreachable[host] = self._unreachable.get(host, 0) + 1
            if self._unreachable[host] >= OFFLINE_AFTER and self._give_up is None:
                self._give_up = exc
        else:
            self._unreachable.pop(host, None)
        if self.failed >= spec_count + EXTRA_FAILURES and self._give_up is None:
            self._give_up = SourceError(
                f"gave up after {self.failed} files failed (the last: {exc})"
            )

    def _stored(self, item: Found, stored: StoredAsset, added: int) -> None:
        self._unreachable.pop(urlsplit(item.url).hostname or item.url, None)
        self.stored += 1
        self.bytes += stored.size - added
        self.crew.publish(
            AssetStored(
                job_id=self.job.id,
                owner_id=self.job.owner,
                source=self.name,
                asset_id=stored.asset_id,
                url=item.url,
                title=item.title,
                mime=stored.mime,
                size=stored.size,
                sha256=stored.sha256,
                deduplicated=stored.deduplicated,
            )
        )
        self.progress(force=True)

    def _new_asset(self, item: Found, mime: str, metadata: dict[str, Any]) -> NewAsset:
        kind = mime.split("/", 1)[0] if "/" in mime else "file"
        return NewAsset(
            job_id=self.job.id,
            source=self.name,
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
            fence=self.job.fence,
        )


async def _tell_stored(item: Found, source: str) -> None:
    assert item.on_stored is not None
    try:
        await item.on_stored()
    except Exception as exc:
        log.warning("%s: telling the site %s was stored failed: %r", source, item.url, exc)


async def _close(items: AsyncIterator[Found]) -> None:
    with contextlib.suppress(Exception):
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


class JobRun:
    """One job running in this process: its sources, its budget, and how it ends."""

    def __init__(
        self, crew: Crew, info: JobInfo, owner: int | None, *, claim: Claim | None = None
    ) -> None:
        """
        Args:
            crew: the engine's shared tools.
            info: the job as stored.
            owner: its owner (None: guests).
            claim: how this worker holds the job, when it came from the shared queue.
        """
        self.crew = crew
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
        self.scratch = crew.settings.data_dir / "scratch" / f"job-{info.id}"
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
        """Register the run with the crew and start it as a task."""
        self.crew.runs[self.id] = self
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
        """The stored job with the in-memory counters of this run."""
        return replace(
            info,
            sources=tuple(
                replace(
                    s,
                    state=run.state,
                    found=run.found,
                    stored=run.stored,
                    failed=run.failed,
                    bytes=run.bytes,
                )
                if (run := self.sources.get(s.source)) is not None
                else s
                for s in info.sources
            ),
        )

    async def save_unfinished(self) -> None:
        """Save the counters of sources still at work (a worker's heartbeat)."""
        for src in self.sources.values():
            if src.state not in TERMINAL_SOURCE_STATES:
                await src.save()

    async def _run(self, spec: JobSpec) -> None:
        settings = self.crew.settings
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
            await self.crew.storage.update_job(
                self.id, fence=self.fence, state=JobState.RUNNING, started_at=_now()
            )
            self.crew.publish(
                JobStarted(job_id=self.id, owner_id=self.owner, timeout=settings.global_job_timeout)
            )
            url_input = is_url(spec.query)
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
                await self.crew.storage.update_job(
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
        crew = self.crew
        try:
            for src in self.sources.values():
                if src.state in (
                    SourceState.QUEUED,
                    SourceState.SEARCHING,
                    SourceState.DOWNLOADING,
                ):
                    src.state = SourceState.CANCELLED
                    await src.save()
            await crew.storage.update_job(
                self.id,
                fence=self.fence,
                state=state,
                finished_at=_now(),
                error=self.info.error,
                runner=None,
            )
        except FencedError as exc:
            self.fenced(str(exc))
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
            if crew.cleanups:  # partial files of cancelled transfers go before the job ends
                await asyncio.gather(*crew.cleanups, return_exceptions=True)
            if not self.lost:  # a fenced job's end is told by the worker that holds it
                crew.publish(
                    JobFinished(
                        job_id=self.id,
                        owner_id=self.owner,
                        state=state.value,
                        stored=sum(s.stored for s in self.sources.values()),
                        failed=sum(s.failed for s in self.sources.values()),
                        bytes=sum(s.bytes for s in self.sources.values()),
                        elapsed=time.monotonic() - self.started,
                        error=self.info.error,
                    )
                )
            self._forget()

    def _forget(self) -> None:
        self.crew.runs.pop(self.id, None)
        self.done.set()
