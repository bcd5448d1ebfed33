"""What the web page keeps: sign-in sessions (only a hash of each cookie) and thumbnails."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from tuiapp.errors import NotFoundError
from tuiapp.jobs import UserInfo
from tuiapp.models import Asset, Thumbnail, User, WebSession
from tuiapp.storage.records import now, owner_q

__all__ = ["StoredThumbnail", "WebStore"]


@dataclass(frozen=True, slots=True)
class StoredThumbnail:
    """A kept thumbnail; ``data`` is empty when the file made none (no picture)."""

    mime: str
    width: int
    height: int
    data: bytes


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class WebStore:
    """Sessions by the hash of their key; thumbnails by blob, seen only through their owner."""

    async def create_session(self, user_id: int, lifetime: float) -> str:
        """A new session for ``user_id`` lasting ``lifetime`` seconds; returns its key (kept
        nowhere but in the browser's cookie). Expired sessions are dropped on the way."""
        await WebSession.filter(expires_at__lt=now()).delete()
        key = secrets.token_urlsafe(32)
        await WebSession.create(
            key_hash=_hash(key), user_id=user_id, expires_at=now() + timedelta(seconds=lifetime)
        )
        return key

    async def session_user(self, key: str) -> UserInfo | None:
        """The user of a live session; None for an unknown, ended or expired one."""
        found = await WebSession.get_or_none(key_hash=_hash(key), expires_at__gt=now())
        if found is None:
            return None
        user = await User.get(id=found.user_id)  # type: ignore[attr-defined]
        return UserInfo(id=user.id, name=user.name, created_at=user.created_at)

    async def end_session(self, key: str) -> bool:
        """End a session; False when there was none."""
        return bool(await WebSession.filter(key_hash=_hash(key)).delete())

    async def thumbnail_of(self, asset_id: int, owner: int | None) -> StoredThumbnail | None:
        """The kept thumbnail of the owner's asset, None when none is made yet.

        Raises:
            NotFoundError: the owner has no such asset.
        """
        blob_id = await self._blob_of(asset_id, owner)
        found = await Thumbnail.get_or_none(blob_id=blob_id)
        if found is None:
            return None
        return StoredThumbnail(found.mime, found.width, found.height, bytes(found.data))

    async def keep_thumbnail(
        self, asset_id: int, owner: int | None, thumb: StoredThumbnail
    ) -> None:
        """Keep an asset's thumbnail (one per blob: a second one made meanwhile is dropped)."""
        blob_id = await self._blob_of(asset_id, owner)
        # Made twice at once, or the file went meanwhile: nothing to keep.
        with contextlib.suppress(IntegrityError):
            await Thumbnail.create(
                blob_id=blob_id,
                mime=thumb.mime,
                width=thumb.width,
                height=thumb.height,
                data=thumb.data,
            )

    async def _blob_of(self, asset_id: int, owner: int | None) -> int:
        rows = await Asset.filter(id=asset_id, **owner_q(owner)).values_list("blob_id", flat=True)
        if not rows:
            raise NotFoundError(f"no asset {asset_id}")
        blob_id: int = rows[0]  # type: ignore[assignment]
        return blob_id
