"""`Storage`: the one object the engine holds; it opens the database and hands calls to rooms.

It holds no SQL of its own. Each method keeps the signature callers know and delegates to
:mod:`~tuiapp.storage.users`, :mod:`~tuiapp.storage.jobs`, :mod:`~tuiapp.storage.queue`,
:mod:`~tuiapp.storage.assets`, :mod:`~tuiapp.storage.blobs`, :mod:`~tuiapp.storage.answers` or
:mod:`~tuiapp.storage.integrity`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from tuiapp.errors import TuiappError, UnavailableError
from tuiapp.storage.answers import SourceAnswers
from tuiapp.storage.assets import AssetStore
from tuiapp.storage.blobs import BlobSink
from tuiapp.storage.database import Database, unavailable
from tuiapp.storage.integrity import integrity_report
from tuiapp.storage.jobs import JobStore
from tuiapp.storage.queue import Listener, WorkQueue
from tuiapp.storage.search import SearchStore
from tuiapp.storage.similar import SimilarStore, Unhashed
from tuiapp.storage.users import UserStore
from tuiapp.storage.web import StoredThumbnail, WebStore
from tuiapp.storage.writer import BlobWriter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

    from tuiapp.jobs import (
        AssetInfo,
        Fingerprint,
        JobInfo,
        JobSpec,
        JobState,
        Selection,
        UserInfo,
    )

__all__ = ["Storage"]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


def _translating(cls: type[T]) -> type[T]:
    """Every public coroutine of ``cls`` raises :class:`UnavailableError` when the database
    cannot be reached, so callers tell an outage (try again) from a failed statement."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        setattr(cls, name, _translated(member))
    return cls


def _translated(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except TuiappError:
            raise
        except Exception as exc:
            if unavailable(exc):
                raise UnavailableError(
                    "the database cannot be reached just now; try again in a few seconds"
                ) from exc
            raise

    return call


@_translating
class Storage:
    """Opens the database, applies migrations, recovers from crashes, and reads and writes.

    Attributes:
        database_url: the database this storage opens.
        supports_listen: True where :meth:`notify` reaches other processes (PostgreSQL);
            elsewhere ``notify`` and ``listen`` do nothing.
        runner_id: this process's id in the rows it works on (jobs it runs, blobs it writes).
    """

    def __init__(self, database_url: str) -> None:
        self._db = Database(database_url)
        self.database_url = database_url
        self.supports_listen = self._db.sql.postgres
        self.runner_id = self._db.runner
        self._writer = BlobWriter(self._db)
        self._users = UserStore()
        self._jobs = JobStore(self._db)
        self._queue = WorkQueue(self._db)
        self._assets = AssetStore(self._db)
        self._similar = SimilarStore(self._db)
        self._search = SearchStore(self._db)
        self._web = WebStore()

    async def open(self) -> None:
        """Connect, apply migrations, start the writer. Call :meth:`recover` next."""
        await self._db.open()
        self._writer.start()

    async def close(self) -> None:
        await self._writer.stop()
        await self._db.close()

    async def recover(self) -> list[int]:
        """Mark jobs of dead processes ``interrupted``; delete their partial blobs.

        Returns:
            The ids of the jobs marked interrupted.
        """
        return await self._jobs.recover()

    # --- users --------------------------------------------------------------------------------

    async def create_user(self, name: str) -> tuple[UserInfo, str]:
        return await self._users.create_user(name)

    async def user_by_token(self, token: str) -> UserInfo | None:
        return await self._users.user_by_token(token)

    async def user_by_name(self, name: str) -> UserInfo | None:
        return await self._users.user_by_name(name)

    async def list_users(self) -> list[UserInfo]:
        return await self._users.list_users()

    # --- the web page's sessions and thumbnails (:mod:`.web`) ---------------------------------

    async def create_session(self, user_id: int, lifetime: float) -> str:
        return await self._web.create_session(user_id, lifetime)

    async def session_user(self, key: str) -> UserInfo | None:
        return await self._web.session_user(key)

    async def end_session(self, key: str) -> bool:
        return await self._web.end_session(key)

    async def thumbnail_of(self, asset_id: int, owner: int | None) -> StoredThumbnail | None:
        return await self._web.thumbnail_of(asset_id, owner)

    async def keep_thumbnail(
        self, asset_id: int, owner: int | None, thumb: StoredThumbnail
    ) -> None:
        await self._web.keep_thumbnail(asset_id, owner, thumb)

    # --- jobs ---------------------------------------------------------------------------------

    async def create_job(
        self,
        spec: JobSpec,
        *,
        owner: int | None,
        settings: dict[str, Any],
        rerun_of: int | None = None,
    ) -> JobInfo:
        return await self._jobs.create_job(spec, owner=owner, settings=settings, rerun_of=rerun_of)

    async def update_job(self, job_id: int, *, fence: int | None = None, **values: Any) -> None:
        """Write a job's fields; with ``fence`` (a worker's claim), only while it holds the job.

        Raises:
            FencedError: another worker claimed the job since.
        """
        await self._jobs.update_job(job_id, fence=fence, **values)

    async def update_job_source(
        self, job_id: int, source: str, *, fence: int | None = None, **values: Any
    ) -> None:
        """Write one source's state and counters; ``fence`` as for :meth:`update_job`."""
        await self._jobs.update_job_source(job_id, source, fence=fence, **values)

    async def job_owner(self, job_id: int) -> int | None:
        """The owner of a job, without an ownership check (engine-internal)."""
        return await self._jobs.job_owner(job_id)

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo:
        return (await self._with_duplicates([await self._jobs.get_job(job_id, owner)]))[0]

    async def list_jobs(
        self,
        owner: int | None,
        *,
        states: Iterable[JobState] = (),
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobInfo]:
        return await self._with_duplicates(
            await self._jobs.list_jobs(owner, states=states, text=text, limit=limit, offset=offset)
        )

    async def _with_duplicates(self, jobs: list[JobInfo]) -> list[JobInfo]:
        """Each source's count of near-duplicates of another source's files, read now."""
        counts = await self._similar.duplicates([j.id for j in jobs])
        if not counts:
            return jobs
        return [
            dataclasses.replace(
                job,
                sources=tuple(
                    dataclasses.replace(s, duplicates=counts.get((job.id, s.source), 0))
                    for s in job.sources
                ),
            )
            for job in jobs
        ]

    async def delete_job(self, job_id: int, owner: int | None) -> None:
        """Delete a job and its files; a group whose best copy went gets the next best."""
        bests = await self._similar.bests_in_job(job_id)
        await self._jobs.delete_job(job_id, owner)
        for best in bests:
            await self._similar.regroup_without(owner, best)

    # --- the shared job queue (workers) -------------------------------------------------------

    async def claim_job(self, lease: float, *, take_over: bool = True) -> tuple[int, int] | None:
        """Take the oldest queued job, or a running one whose lease ran out (see :mod:`.queue`)."""
        return await self._queue.claim_job(lease, take_over=take_over)

    async def renew_leases(self, job_ids: Iterable[int], lease: float) -> tuple[set[int], set[int]]:
        """Extend this worker's leases: (jobs still held, those asked to cancel)."""
        return await self._queue.renew_leases(job_ids, lease)

    async def request_cancel(self, job_id: int, source: str | None = None) -> bool:
        return await self._queue.request_cancel(job_id, source)

    async def source_cancels(self, job_ids: Iterable[int]) -> dict[int, set[str]]:
        return await self._queue.source_cancels(job_ids)

    async def stored_urls(self, job_id: int) -> dict[str, set[str]]:
        """URLs already stored for a job, per source."""
        return await self._queue.stored_urls(job_id)

    async def stored_bytes(self, job_id: int) -> dict[str, int]:
        return await self._queue.stored_bytes(job_id)

    async def sweep_orphans(self, lease: float) -> int:
        """Delete partial blobs of workers that hold no lease any more; how many."""
        return await self._queue.sweep_orphans(lease)

    async def notify(self, channel: str, payload: str) -> None:
        """Send a message to every process listening on ``channel`` (when supports_listen)."""
        await self._queue.notify(channel, payload)

    async def listen(
        self,
        channels: dict[str, Callable[[str], None]],
        on_reconnect: Callable[[], None] | None = None,
    ) -> Listener | None:
        """Call ``channels[name](payload)`` for each message (PostgreSQL; None elsewhere).

        The listener reconnects by itself after any loss and then calls ``on_reconnect``.
        """
        return await self._queue.listen(channels, on_reconnect)

    # --- answers an API asked to be kept ------------------------------------------------------

    def answers(self, source: str) -> SourceAnswers:
        """Where ``source`` keeps the API answers it must cache (get, put)."""
        return SourceAnswers(source)

    # --- assets and blobs ---------------------------------------------------------------------

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
        return await self._assets.list_assets(
            owner,
            job_id=job_id,
            source=source,
            kind=kind,
            text=text,
            unique=unique,
            limit=limit,
            offset=offset,
        )

    async def find_assets(
        self,
        owner: int | None,
        selection: Selection,
        *,
        limit: int = 100,
        offset: int = 0,
        after: int | None = None,
        max_distance: int = 0,
        oldest_first: bool = False,
    ) -> list[AssetInfo]:
        """The owner's assets that ``selection`` takes (see :mod:`.search`): best matches first,
        nearest first with ``similar_to`` (within ``max_distance`` bits), else newest first
        (``oldest_first``: oldest); or in id order from just after ``after``.

        Raises:
            NotFoundError: ``similar_to`` names no asset of the owner.
        """
        if selection.similar_to is None:
            ids = await self._search.find_ids(
                owner, selection, limit=limit, offset=offset, after=after, oldest_first=oldest_first
            )
        else:
            near = await self._similar.nearest(owner, selection.similar_to, max_distance)
            kept = set(await self._search.find_ids(owner, selection, limit=len(near), only=near))
            ids = [i for i in near if i in kept and (after is None or i > after)]
            ids = sorted(ids) if after is not None else ids
            ids = ids[offset : offset + limit]
        return await self._assets.assets_by_id(ids)

    async def search_pending(self) -> int:
        """Up to which id older files still wait for the search index (0: none)."""
        return await self._search.pending()

    async def fill_search(self) -> int:
        """Index for search the files stored before the index existed (in the background;
        progress in the log); how many were indexed."""
        return await self._search.fill()

    async def get_asset(self, asset_id: int, owner: int | None) -> AssetInfo:
        return await self._assets.get_asset(asset_id, owner)

    async def delete_asset(self, asset_id: int, owner: int | None) -> None:
        await self._assets.delete_asset(asset_id, owner)
        await self._similar.regroup_without(owner, asset_id)

    # --- near-duplicate pictures (:mod:`.similar`) --------------------------------------------

    async def set_fingerprint(
        self, asset_id: int, owner: int | None, found: Fingerprint | None
    ) -> int | None:
        """Store a stored asset's fingerprint (None: no picture) and regroup it.

        Returns:
            Its best copy's asset id, when this asset is not the best copy of its picture.
        """
        return await self._writer.fingerprint(asset_id, owner, found)

    async def near_duplicates(self, owner: int | None, phash: int, max_distance: int) -> list[int]:
        """The owner's assets whose perceptual hash is at most ``max_distance`` bits away."""
        return await self._similar.near(owner, phash, max_distance)

    async def unhashed_images(self, limit: int) -> list[Unhashed]:
        """Stored pictures of any owner whose hash was never tried, oldest first."""
        return await self._similar.unhashed(limit)

    async def read_blob(
        self, sha256: str, owner: int | None, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``start``..``end`` (exclusive) of a complete blob, a chunk at a time."""
        return await self._assets.read_blob(sha256, owner, start, end)

    def new_sink(self, owner: int | None) -> BlobSink:
        """A sink for one file's bytes, stored as ``owner``'s (None: a guest's)."""
        return BlobSink(self._writer, owner)

    async def integrity_report(self) -> dict[str, Any]:
        """Checks used by tests and drills: sha256 of every blob, orphan chunks, SQLite's own."""
        return await integrity_report(self._db)
