"""Thumbnails of stored pictures: made once by the hashing process, then kept in the database.

A picture's thumbnail (longest side 320 px, WebP) is made the first time a client asks for it,
by the process that already decodes pictures
(:class:`~tuiapp.engine.hash_process.HashProcess`), and kept per stored file; a file that is no
picture is remembered as such. Made on demand rather than as files arrive: the writer's pace
stays what it was, and a job nobody looks at costs nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tuiapp.engine.hash_process import HashProcess
from tuiapp.phash import MAX_HASH_BYTES
from tuiapp.storage import StoredThumbnail

if TYPE_CHECKING:
    from tuiapp.storage import Storage

__all__ = ["THUMB_MIME", "Thumbnails"]

log = logging.getLogger(__name__)

THUMB_MIME = "image/webp"
_PICTURES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")
"""What the hashing process opens."""


class Thumbnails:
    """Finds or makes a stored file's thumbnail."""

    def __init__(self, storage: Storage, hasher: HashProcess | None) -> None:
        """``hasher``: the engine's hashing process; None (near-duplicates off) starts one of
        this object's own on the first thumbnail asked for."""
        self._storage = storage
        self._hasher = hasher
        self._own: HashProcess | None = None

    async def get(self, asset_id: int, owner: int | None) -> tuple[bytes, str] | None:
        """The thumbnail's bytes and media type; None when the file is no picture.

        Raises:
            NotFoundError: the owner has no such asset.
            HashProcessError: the hashing process could not answer (nothing kept: asked later).
        """
        asset = await self._storage.get_asset(asset_id, owner)
        if asset.mime not in _PICTURES or not 0 < asset.size <= MAX_HASH_BYTES:
            return None
        kept = await self._storage.thumbnail_of(asset_id, owner)
        if kept is None:
            hasher = self._hasher or self._own
            if hasher is None:
                hasher = self._own = HashProcess()
            chunks = await self._storage.read_blob(asset.sha256, owner)
            made = await hasher.thumbnail(asset.size, chunks)
            kept = (
                StoredThumbnail("", 0, 0, b"")
                if made is None
                else StoredThumbnail(THUMB_MIME, made[1], made[2], made[0])
            )
            await self._storage.keep_thumbnail(asset_id, owner, kept)
        return (kept.data, kept.mime) if kept.data else None

    async def close(self) -> None:
        if self._own is not None:
            await self._own.close()
