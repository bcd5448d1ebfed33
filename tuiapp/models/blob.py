"""File bytes, stored once per owner and sha256, split into ~1 MiB chunk rows.

A blob is ``partial`` while its chunks are being written and becomes ``complete`` in the same
transaction that records its sha256; readers only ever see complete blobs, and partial ones are
deleted at start-up (a crash mid-write leaves nothing visible behind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from tuiapp.models.user import User


class MediaBlob(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="blobs", null=True, on_delete=fields.CASCADE
    )
    owner_key = fields.IntField()
    """The owner's id, 0 for guests: SQL UNIQUE treats NULLs as distinct, so the dedup
    constraint is on this column, not on ``owner``."""
    sha256 = fields.CharField(max_length=64, null=True)
    """NULL while partial."""
    size = fields.BigIntField(default=0)
    mime = fields.CharField(max_length=128, default="application/octet-stream")
    complete = fields.BooleanField(default=False)
    runner = fields.CharField(max_length=128, null=True)
    """host:pid of the process writing a partial blob."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "media_blob"
        unique_together = (("owner_key", "sha256"),)


class BlobChunk(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    blob: fields.ForeignKeyRelation[MediaBlob] = fields.ForeignKeyField(
        "models.MediaBlob", related_name="chunks", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "blob_chunk"
        unique_together = (("blob", "seq"),)
