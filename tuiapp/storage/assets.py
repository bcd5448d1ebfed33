"""Stored assets as their owner sees them: list, get, delete, and the bytes of a blob."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from tuiapp.errors import NotFoundError
from tuiapp.jobs import MEDIA_FACTS, AssetInfo
from tuiapp.models import Asset, MediaBlob
from tuiapp.storage.records import collect, owner_q, read_chunks, recount

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.storage.database import Database

__all__ = ["AssetStore"]


class AssetStore:
    """The asset rows of one database; a caller sees only the owner's (guests: NULL owner)."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
        qs = Asset.filter(**owner_q(owner))
        if unique:
            qs = qs.filter(duplicate_of__isnull=True)
        if job_id is not None:
            qs = qs.filter(job_id=job_id)
        if source:
            qs = qs.filter(source=source)
        if kind:
            qs = qs.filter(kind=kind)
        if text:
            qs = qs.filter(title__icontains=text)
        assets = await qs.order_by("id").offset(offset).limit(limit).prefetch_related("blob")
        return [_asset_info(a) for a in assets]

    async def assets_by_id(self, ids: list[int]) -> list[AssetInfo]:
        """The assets of ``ids`` (already checked as the caller's), in that order."""
        if not ids:
            return []
        rows = {a.id: a for a in await Asset.filter(id__in=ids).prefetch_related("blob")}
        return [_asset_info(rows[i]) for i in ids if i in rows]

    async def get_asset(self, asset_id: int, owner: int | None) -> AssetInfo:
        asset = await Asset.get_or_none(id=asset_id, **owner_q(owner)).prefetch_related("blob")
        if asset is None:
            raise NotFoundError(f"no asset {asset_id}")
        return _asset_info(asset)

    async def delete_asset(self, asset_id: int, owner: int | None) -> None:
        """Delete an asset, and its blob when no other asset points to it."""
        asset = await Asset.get_or_none(id=asset_id, **owner_q(owner))
        if asset is None:
            raise NotFoundError(f"no asset {asset_id}")
        blob_id: int = asset.blob_id  # type: ignore[attr-defined]
        async with in_transaction():
            await asset.delete()
            await collect(self._db, {blob_id})
            await recount(self._db, asset.job_id)  # type: ignore[attr-defined]
        await self._db.reclaim()

    async def read_blob(
        self, sha256: str, owner: int | None, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``start``..``end`` (exclusive) of a complete blob, a chunk at a time."""
        blob = await MediaBlob.get_or_none(sha256=sha256, complete=True, **owner_q(owner))
        if blob is None:
            raise NotFoundError("no such file")
        stop = blob.size if end is None else min(end, blob.size)
        return read_chunks(self._db, blob.id, start, stop)


def _asset_info(asset: Asset) -> AssetInfo:
    blob = asset.blob
    return AssetInfo(
        id=asset.id,
        job_id=asset.job_id,  # type: ignore[attr-defined]
        source=asset.source,
        **{name: getattr(asset, name) for name in MEDIA_FACTS},
        kind=asset.kind,
        metadata=dict(asset.metadata or {}),
        mime=blob.mime,
        size=blob.size,
        sha256=blob.sha256 or "",
        owner_id=asset.owner_id,  # type: ignore[attr-defined]
        created_at=asset.created_at,
        duplicate_of=asset.duplicate_of,
    )
