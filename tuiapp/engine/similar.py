"""The engine's side of near-duplicate pictures: hash stored images off the event loop.

A stored picture is announced (``AssetStored``) once its hash is stored and its group known, so
the event carries ``duplicate_of``; the hashing runs beside the downloads (it never holds a
download slot) and a source's end waits for it. Pictures stored before hashing existed, or whose
hashing was cut off, are hashed after start in small batches (:func:`backfill`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from tuiapp.engine.phash import MAX_DISTANCE, MAX_HASH_BYTES, fingerprint

if TYPE_CHECKING:
    from tuiapp.engine.crew import Crew
    from tuiapp.events import AssetStored
    from tuiapp.storage import Storage

__all__ = ["Hashing", "backfill", "hash_asset"]

log = logging.getLogger(__name__)

BATCH = 20
"""Pictures hashed per round of the backfill."""


async def hash_asset(
    storage: Storage, asset_id: int, owner: int | None, sha256: str, size: int
) -> int | None:
    """Hash one stored file and regroup its near-duplicates.

    Returns:
        The best copy's asset id when this file is a near-duplicate of it, else None.
    """
    found = None
    if 0 < size <= MAX_HASH_BYTES:
        chunks = await storage.read_blob(sha256, owner)
        data = b"".join([chunk async for chunk in chunks])
        found = await asyncio.to_thread(fingerprint, data)
    if found is None:
        return await storage.set_phash(asset_id, owner, None, max_distance=MAX_DISTANCE)
    return await storage.set_phash(
        asset_id,
        owner,
        found.phash,
        max_distance=MAX_DISTANCE,
        width=found.width,
        height=found.height,
    )


class Hashing:
    """One source run's pictures being hashed before they are announced."""

    def __init__(self, crew: Crew) -> None:
        self._crew = crew
        self._tasks: set[asyncio.Task[Any]] = set()

    def announce(self, event: AssetStored) -> None:
        """Publish a stored file's event; a picture's once it is hashed (with its group)."""
        if not event.mime.startswith("image/"):
            self._crew.publish(event)
            return
        task = asyncio.ensure_future(self._hash_then_publish(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._crew.cleanups.add(task)  # an engine that closes waits for it too
        task.add_done_callback(self._crew.cleanups.discard)

    async def _hash_then_publish(self, event: AssetStored) -> None:
        best = None
        try:
            best = await hash_asset(
                self._crew.storage, event.asset_id, event.owner_id, event.sha256, event.size
            )
        except Exception as exc:  # the file is stored; only its grouping waits for a restart
            log.warning("hashing asset %s failed: %r", event.asset_id, exc)
        self._crew.publish(dataclasses.replace(event, duplicate_of=best))

    async def settle(self) -> None:
        """Wait until every picture of this run is hashed and announced."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def backfill(storage: Storage, *, pause: float = 0.05) -> int:
    """Hash every stored picture whose hash was never tried, a small batch at a time.

    Returns:
        How many were tried.
    """
    done = 0
    while batch := await storage.unhashed_images(BATCH):
        for item in batch:
            try:
                await hash_asset(storage, item.asset_id, item.owner_id, item.sha256, item.size)
            except Exception as exc:
                log.warning("hashing asset %s failed: %r", item.asset_id, exc)
                try:  # not tried again at every start
                    await storage.set_phash(item.asset_id, item.owner_id, None, max_distance=0)
                except Exception:
                    return done  # the database is away: the next start goes on
            done += 1
        await asyncio.sleep(pause)  # let jobs and clients in between batches
    return done
