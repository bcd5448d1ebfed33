"""One source of a running job (:class:`SourceRun`): search, download, store, count, report.

It hands each find to :func:`~.transfer.transfer`, stores the bytes through the storage, keeps
the counters and publishes its events; it knows its job only as a :class:`~.runtime.RunningJob`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING, Any

from tuiapp import sources as registry
from tuiapp.engine.giving_up import Failures
from tuiapp.engine.known import KNOWN_CAP, NewOnly, asked_count, new_asset
from tuiapp.engine.near_duplicates import hook
from tuiapp.engine.runtime import (
    PROGRESS_INTERVAL,
    Speed,
    close_quietly,
    source_context,
    tell_stored,
)
from tuiapp.engine.transfer import transfer
from tuiapp.errors import (
    BlockedError,
    FencedError,
    FormatChangedError,
    MissingKeyError,
    SourceError,
    TuiappError,
    UnavailableError,
    UnsupportedURLError,
)
from tuiapp.events import (
    AssetStored,
    ItemFailed,
    SourceFinished,
    SourceNotice,
    SourceProgress,
    SourceStarted,
    TransferProgress,
)
from tuiapp.fetch import acting_for
from tuiapp.jobs import JobSpec, JobState, SourceState
from tuiapp.sources.base import SourceQuery

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tuiapp.engine.runtime import RunningJob, Runtime
    from tuiapp.sources.base import Found
    from tuiapp.storage import StoredAsset

__all__ = ["SourceRun"]

log = logging.getLogger("tuiapp.engine")

_STORE_BACKLOG = 256
_STORE_BACKLOG_BYTES = 16 * 1024 * 1024
"""Files (and bytes) of one source fetched but not yet committed: bounds memory when the
database lags behind the network, while letting the writer commit large batches."""


class SourceRun:
    """One source of a running job: search, download, store, count, report."""

    def __init__(self, job: RunningJob, name: str) -> None:
        self.job = job
        self.name = name
        self.near = hook(job.runtime)  # the one near-duplicate seam (a no-op when off)
        self.state = SourceState.QUEUED
        self.found = 0
        self.stored = 0
        self.failed = 0
        self.bytes = 0
        self.known = 0
        """Items passed over: the owner's library held them already (new-only jobs)."""
        self.new_only = NewOnly(job.runtime, job.owner, name) if job.info.new_only else None
        self.error: TuiappError | None = None
        self.task: asyncio.Task[None] | None = None
        self.cancel_requested = False
        self._speed = Speed()
        self._last_progress = 0.0
        self._unstored_bytes = 0  # bytes fetched and waiting for the database
        self._failures = Failures()
        self._give_up: SourceError | None = None
        """Set by a download that shows the source cannot go on; the search loop raises it."""
        self._saving = asyncio.Lock()  # one save at a time: see save

    @property
    def runtime(self) -> Runtime:
        return self.job.runtime

    def counters(self) -> dict[str, int]:
        return {
            "found": self.found,
            "stored": self.stored,
            "failed": self.failed,
            "bytes": self.bytes,
            "known": self.known,
        }

    def cancel(self) -> None:
        """Stop this source alone; the job goes on with the others."""
        self.cancel_requested = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def save(self) -> None:
        """Write the state and counters to the database (never once the job is lost).

        One save at a time, each with the values of when its turn came: a heartbeat's save
        begun before the source ended never lands after its last one (on PostgreSQL each may
        take a connection of its own)."""
        async with self._saving:
            if self.job.lost:
                return
            try:
                await self.runtime.storage.update_job_source(
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
            except UnavailableError:
                # Saved again at the next heartbeat or state change; the work goes on meanwhile.
                log.info(
                    "job %s, %s: counters not saved, the database is away", self.job.id, self.name
                )

    def notice(self, text: str) -> None:
        log.info("job %s, %s: %s", self.job.id, self.name, text)
        notice = SourceNotice(
            job_id=self.job.id, owner_id=self.job.owner, source=self.name, message=text
        )
        self.runtime.publish(notice)

    def snapshot(self, speed: float = 0.0) -> SourceProgress:
        """This source's counters now, as the progress event :meth:`progress` publishes."""
        return SourceProgress(
            job_id=self.job.id,
            owner_id=self.job.owner,
            source=self.name,
            state=self.state,
            **self.counters(),
            speed=speed,
        )

    def progress(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        self.runtime.publish(self.snapshot(self._speed.add(self.bytes)))

    async def run(self, spec: JobSpec, url_input: bool) -> None:
        """Run the source to its end; the state and error say how it ended."""
        try:
            async with self.runtime.source_slots:
                self.state = SourceState.SEARCHING
                await self.save()
                self.runtime.publish(
                    SourceStarted(
                        job_id=self.job.id,
                        owner_id=self.job.owner,
                        source=self.name,
                        state=self.state,
                    )
                )
                with acting_for(self.name):  # its pages and downloads take its proxy
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
        except RecursionError:
            # Remote data nested absurdly deep (JSON, HTML) reached a recursive parser.
            self.state = SourceState.FAILED
            self.error = FormatChangedError(f"{self.name} answered with data nested too deeply")
        except Exception as exc:
            log.exception("source %s of job %s crashed", self.name, self.job.id)
            self.state, self.error = SourceState.FAILED, SourceError(f"internal error: {exc!r}")
        finally:
            await asyncio.shield(self._end())

    async def _end(self) -> None:
        await self.near.settle()  # its stored pictures are announced before its end
        await self.save()
        self.progress(force=True)
        self.runtime.publish(
            SourceFinished(
                job_id=self.job.id,
                owner_id=self.job.owner,
                source=self.name,
                state=self.state,
                **self.counters(),
                error=None if self.error is None else str(self.error),
                error_code=None if self.error is None else self.error.code,
            )
        )

    @functools.cached_property
    def scratch(self) -> Path:
        return self.job.scratch / self.name

    async def _search_and_download(self, spec: JobSpec, url_input: bool) -> None:
        settings = self.runtime.settings
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
            text=spec.query.strip(), count=asked_count(spec), is_url=url_input, options=spec.options
        )
        await self.runtime.http()  # the client is made at the first source run
        ctx = source_context(
            self.runtime, self.name, spec, api_key, self.scratch, self.job, self.notice
        )
        items = cls().iterate(query, ctx).__aiter__()
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
        search_error: TuiappError | None = None

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
                if self.found - self.known >= max_candidates or pulls - self.known >= max_pulls:
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
                except TuiappError as exc:
                    # The search failed (blocked on page 3, say): what it found before is
                    # still downloaded and stored, then the source ends with that error.
                    exhausted, search_error = True, exc
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
                if self.new_only is not None and await self.new_only.before_fetch(item):
                    self.known += 1  # held already: nothing of it is fetched
                    exhausted = self.known >= KNOWN_CAP
                    self.progress()
                    continue
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
            await close_quietly(items)
        if search_error is not None:
            raise search_error
        if self.stored == 0 and self.failed > 0 and self.error is None:
            self.error = SourceError(f"none of the {self.failed} files found could be stored")
            raise self.error

    async def _download(self, item: Found, fetched: Callable[[str], None]) -> None:
        """Fetch one item and store it; count and announce what happened."""
        runtime = self.runtime
        sink = runtime.storage.new_sink(self.job.owner)
        stored: StoredAsset | None = None
        added = 0
        """Bytes of this file counted in self.bytes so far (files download side by side)."""
        last = time.monotonic()  # a file in flight for less than that is never reported
        shown = False

        def progress(done: int, total: int | None, **extra: Any) -> None:
            nonlocal last, added, shown
            self.bytes += done - added
            added = done
            now = time.monotonic()
            # The last report of a transfer shown, of known size, always goes out: a client's
            # figure ends at 100 % rather than wherever the throttle last let one through.
            complete = shown and total is not None and done >= total
            if complete or now - last >= PROGRESS_INTERVAL:
                last, shown = now, True
                runtime.publish(
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
                fetcher=runtime.client,
                scratch=self.scratch,
                max_size=runtime.settings.max_image_size
                if item.expect == "image"
                else runtime.settings.max_file_size,
                stall_timeout=runtime.settings.request_timeout,
                progress=progress,
                cancelled=self.job.stopping.is_set,
            )
            # A cut here keeps no file, as one during the transfer.
            await sink.fingerprint_with(self.near.fingerprinter(moved.mime))
            if self.new_only is not None and await self.new_only.after_fetch(sink):
                runtime.spawn_cleanup(sink.abort())  # the same bytes, or picture, are held
                self.bytes -= added
                self.known += 1
                self.progress(force=True)
                return
        except SourceError as exc:
            runtime.spawn_cleanup(sink.abort())  # never cut half-way by a job that stops now
            self.bytes -= added
            self._failed_item(item, exc)
            verdict = self._failures.failed(
                exc, item.url, failed=self.failed, count=self.job.info.count
            )
            self._give_up = self._give_up or verdict
            return
        except BaseException:
            self.bytes -= added
            runtime.spawn_cleanup(sink.abort())
            raise
        self._unstored_bytes += sink.size
        fetched(item.url)
        # The one place that decides whether a file belongs to the job: once its bytes are
        # handed to the database, the commit's outcome does. A cut (cancel, budget) waits for
        # it, so a file that lands is counted and announced before the job's end, and one that
        # does not land is not.
        commit = asyncio.ensure_future(
            sink.finish(
                mime=moved.mime,
                asset=new_asset(self.job, self.name, item, moved.mime, moved.metadata),
            )
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
        except UnavailableError as exc:
            self.bytes -= added
            self._failed_item(item, exc)
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
            self.runtime.spawn_cleanup(tell_stored(item, self.name))
        if cut is not None:
            raise cut

    def _failed_item(self, item: Found, exc: TuiappError) -> None:
        self.failed += 1
        self.runtime.publish(
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

    def _stored(self, item: Found, stored: StoredAsset, added: int) -> None:
        self._failures.stored(item.url)
        self.stored += 1
        self.bytes += stored.size - added
        self.near.announce(
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
            ),
            stored,
        )
        self.progress()  # each file is announced: the counters go out with the throttle
