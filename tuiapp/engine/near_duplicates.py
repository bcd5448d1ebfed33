"""The engine's side of near-duplicate pictures: which files are looked at, and when.

The write path meets the feature at one seam, a :class:`NearDuplicates` hook per source run
(:func:`hook`): the sink asks it for a small picture's fingerprint before the commit
(``BlobSink.fingerprint_with``), and each stored file is announced through it. With hashing off the
hook is :class:`NoNearDuplicates`: nothing is looked at, and a stored file's event is published as
it is, with no detour.

A stored picture is announced (``AssetStored``) once it is fingerprinted and grouped, so the
event names its best copy. A picture of one chunk is fingerprinted by the hashing process
(:class:`~tuiapp.engine.hash_process.HashProcess`) with its bytes in hand, before it is written: its
fingerprint goes into the same INSERT and its group is settled in the writer's batch (a second
write of each row cost the writer, the bottleneck, a third of its pace). A larger picture is
read back and looked at after it is stored, beside the downloads. A source's end waits until
its pictures are announced. Pictures stored before hashing existed, while it was off, or
whose hashing was cut off, are fingerprinted after start in small batches (:func:`backfill`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Protocol

from tuiapp.engine.hash_process import HashProcessError
from tuiapp.phash import MAX_HASH_BYTES

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tuiapp.engine.hash_process import HashProcess
    from tuiapp.engine.runtime import Runtime
    from tuiapp.events import AssetStored
    from tuiapp.jobs import Fingerprint
    from tuiapp.storage import Storage, StoredAsset

__all__ = ["Hashing", "NearDuplicates", "NoNearDuplicates", "backfill", "hash_stored", "hook"]

log = logging.getLogger(__name__)

BATCH = 20
"""Pictures fingerprinted per round of the backfill."""


async def hash_stored(
    storage: Storage, hasher: HashProcess, asset_id: int, owner: int | None, sha256: str, size: int
) -> int | None:
    """Fingerprint one stored file from the database and group it with its near-duplicates.

    Returns:
        The best copy's asset id when this file is a near-duplicate of it, else None.
    """
    found = None
    if 0 < size <= MAX_HASH_BYTES:  # streamed into the hashing process a chunk at a time
        found = await hasher.fingerprint_stream(size, await storage.read_blob(sha256, owner))
    return await storage.set_fingerprint(asset_id, owner, found)


class NearDuplicates(Protocol):
    """The near-duplicate hook of one source run's write path."""

    def fingerprinter(self, mime: str) -> Callable[[bytes], Awaitable[Fingerprint | None]] | None:
        """What a sink fingerprints a picture with before writing it (None: not looked at)."""
        ...

    def announce(self, event: AssetStored, stored: StoredAsset) -> None:
        """Publish a stored file's event (with its best copy, when it is a near-duplicate)."""
        ...

    async def settle(self) -> None:
        """Wait until every file of the run is announced."""
        ...


def hook(runtime: Runtime) -> NearDuplicates:
    """The hook of a new source run: :class:`Hashing` when pictures are fingerprinted here."""
    return NoNearDuplicates(runtime) if runtime.hasher is None else Hashing(runtime)


class NoNearDuplicates:
    """Hashing is off: nothing is looked at; a stored file's event goes out as it is."""

    def __init__(self, runtime: Runtime) -> None:
        self._publish = runtime.publish

    def fingerprinter(self, mime: str) -> None:
        return None

    def announce(self, event: AssetStored, stored: StoredAsset) -> None:
        self._publish(event)

    async def settle(self) -> None:
        return None


class Hashing:
    """One source run's stored files, announced; a picture with its group once it is known."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._tasks: set[asyncio.Task[Any]] = set()

    def fingerprinter(self, mime: str) -> Callable[[bytes], Awaitable[Fingerprint | None]] | None:
        """What a sink fingerprints a picture with before writing it (None: not looked at)."""
        hasher = self._runtime.hasher
        return hasher.fingerprint if hasher is not None and mime.startswith("image/") else None

    def announce(self, event: AssetStored, stored: StoredAsset) -> None:
        """Publish a stored file's event; a picture's with its best copy when it has one.

        A picture not fingerprinted as it was written (larger than a chunk) is read back and
        fingerprinted beside the downloads first; its event follows.
        """
        hasher = self._runtime.hasher
        if stored.fingerprinted or hasher is None or not event.mime.startswith("image/"):
            self._runtime.publish(dataclasses.replace(event, duplicate_of=stored.duplicate_of))
            return
        task = asyncio.ensure_future(self._fingerprint_then_publish(hasher, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._runtime.cleanups.add(task)  # an engine that closes waits for it too
        task.add_done_callback(self._runtime.cleanups.discard)

    async def _fingerprint_then_publish(self, hasher: HashProcess, event: AssetStored) -> None:
        best = None
        try:
            best = await hash_stored(
                self._runtime.storage,
                hasher,
                event.asset_id,
                event.owner_id,
                event.sha256,
                event.size,
            )
        except Exception as exc:  # the file is stored; the backfill tries its hash again
            log.warning("hashing asset %s failed: %r", event.asset_id, exc)
        self._runtime.publish(dataclasses.replace(event, duplicate_of=best))

    async def settle(self) -> None:
        """Wait until every picture of this run is looked at and announced."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def backfill(
    storage: Storage, hasher: HashProcess, *, pause: float = 0.05, delay: float = 0.0
) -> int:
    """Fingerprint every stored picture whose hash was never tried, a small batch at a time.

    ``delay``: seconds to wait first (a command that ends sooner never starts the process).
    A picture whose look fails twice (the process died on it, alone) is marked as no picture,
    so it is not tried again at every start.

    Returns:
        How many were tried.
    """
    await asyncio.sleep(delay)
    done = 0
    while batch := await storage.unhashed_images(BATCH):
        for item in batch:
            for attempt in (1, 2):
                try:
                    await hash_stored(
                        storage, hasher, item.asset_id, item.owner_id, item.sha256, item.size
                    )
                    break
                except HashProcessError as exc:
                    if attempt == 1:
                        continue  # another file may have stopped the process: once more, alone
                    log.warning("hashing asset %s failed: %s", item.asset_id, exc)
                except Exception as exc:
                    log.warning("hashing asset %s failed: %r", item.asset_id, exc)
                try:
                    await storage.set_fingerprint(item.asset_id, item.owner_id, None)
                except Exception:
                    return done  # the database is away: the next start goes on
                break
            done += 1
        await asyncio.sleep(pause)  # let jobs and clients in between batches
    return done
