"""New-only jobs: what the owner's library holds already is skipped, counted as ``known``.

An item is known, before anything of it is fetched, when the library holds a file of the same
source and item (:func:`item_key`: the site's own id where it has one, else the media URL).
Once fetched, and before it is kept, it is known when the library holds the same bytes
(sha256) or, for a picture looked at before its commit (one chunk, with near-duplicates on), a
near-duplicate. A known item is not stored and not counted against the job's count: the
source goes on searching until it has the count in new files, or has passed over
:data:`KNOWN_CAP` known ones.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tuiapp.errors import UnavailableError
from tuiapp.jobs import MAX_COUNT, MEDIA_FACTS
from tuiapp.storage import NewAsset

if TYPE_CHECKING:
    from tuiapp.engine.runtime import RunningJob, Runtime
    from tuiapp.jobs import JobSpec
    from tuiapp.sources.base import Found
    from tuiapp.storage import BlobSink

__all__ = ["KNOWN_CAP", "NewOnly", "asked_count", "item_key", "new_asset"]

log = logging.getLogger("tuiapp.engine")

KNOWN_CAP = 1000
"""Known items one source of a new-only job passes over before it stops looking."""
_LONGEST_URL_KEY = 500


def item_key(item: Found) -> str | None:
    """How the library knows an item of a source: ``id:<the site's id>``, else ``url:<URL>``
    (None for a URL over 500 characters: such an item is known by its bytes alone)."""
    if item.item_id:
        return f"id:{item.item_id}"
    return f"url:{item.url}" if len(item.url) <= _LONGEST_URL_KEY else None


def new_asset(
    job: RunningJob, source: str, item: Found, mime: str, metadata: dict[str, Any]
) -> NewAsset:
    """The asset row a find of ``source`` becomes once its bytes are in, with its item key."""
    kind = mime.split("/", 1)[0] if "/" in mime else "file"
    return NewAsset(
        job_id=job.id,
        source=source,
        kind=kind if kind in {"image", "video", "audio"} else "file",
        **{name: getattr(item, name) for name in MEDIA_FACTS},
        metadata={**item.metadata, **metadata},
        item_key=item_key(item),
        fence=job.fence,
    )


def asked_count(spec: JobSpec) -> int:
    """How many items a source is asked for: a new-only job's sources list further, since
    some of what they list may be known."""
    if not spec.new_only:
        return spec.count
    return min(MAX_COUNT, spec.count + min(KNOWN_CAP, spec.count * 4 + 50))


class NewOnly:
    """One source of a new-only job: tells what its owner's library holds already."""

    def __init__(self, runtime: Runtime, owner: int | None, source: str) -> None:
        self._runtime = runtime
        self._owner = owner
        self._source = source
        self._keys: set[str] = set()
        """Item keys this run fetched (two finds of one item in one listing)."""
        self._hashes: set[str] = set()
        """sha256 of the files this run keeps (the same bytes found twice at once)."""

    async def before_fetch(self, item: Found) -> bool:
        """Whether the library holds this item of this source (then nothing of it is fetched).

        A database that cannot be reached answers no: the item is fetched and judged again by
        its bytes.
        """
        key = item_key(item)
        if key is None:
            return False
        if key in self._keys:
            return True
        try:
            held = await self._runtime.storage.known_items(self._owner, self._source, [key])
        except UnavailableError:
            held = set()
        if key in held:
            return True
        self._keys.add(key)
        return False

    async def after_fetch(self, sink: BlobSink) -> bool:
        """Whether the library holds the fetched bytes, or a near-duplicate of the picture."""
        storage = self._runtime.storage
        sha256 = await sink.digest()
        if sha256 in self._hashes:
            return True
        try:
            if await storage.holds_bytes(self._owner, sha256):
                return True
            look = sink.fingerprint
            if look is not None and await storage.near_duplicates(
                self._owner, look.phash, look.near
            ):
                return True
        except UnavailableError:
            log.info("%s: the database is away; a file is kept without asking", self._source)
        self._hashes.add(sha256)
        return False
