"""Where a stored file came from: the job, the source, the URLs and what the source said of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from tuiapp.models.blob import MediaBlob
    from tuiapp.models.job import Job
    from tuiapp.models.user import User


class Asset(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    job: fields.ForeignKeyRelation[Job] = fields.ForeignKeyField(
        "models.Job", related_name="assets", on_delete=fields.CASCADE
    )
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="assets", null=True, on_delete=fields.CASCADE
    )
    blob: fields.ForeignKeyRelation[MediaBlob] = fields.ForeignKeyField(
        "models.MediaBlob", related_name="assets", on_delete=fields.RESTRICT
    )
    source = fields.CharField(max_length=64, db_index=True)
    kind = fields.CharField(max_length=16)
    url = fields.TextField()
    page_url = fields.TextField(null=True)
    title = fields.TextField(null=True)
    author = fields.TextField(null=True)
    author_url = fields.TextField(null=True)
    license = fields.TextField(null=True)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    thumbnail_url = fields.TextField(null=True)
    metadata: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    phash = fields.BigIntField(null=True)
    """The 64-bit perceptual hash (stored signed); NULL until hashed, or when not a picture."""
    q0 = fields.IntField(null=True)
    q1 = fields.IntField(null=True)
    q2 = fields.IntField(null=True)
    q3 = fields.IntField(null=True)
    """The hash's four 16-bit quarters, high to low: hashes within 3 bits share one."""
    duplicate_of = fields.IntField(null=True)
    """The best copy of this picture in the owner's library, when this asset is not it."""
    hashed = fields.BooleanField(null=True, default=False)
    """Hashing was tried (a file that is no picture keeps phash NULL but is not tried again);
    NULL in rows made before hashing existed (a column added to a table cannot be NOT NULL)."""
    item_key = fields.CharField(max_length=520, null=True)
    """Which item of its source this file is: ``id:`` and the source's own id where it has one,
    else ``url:`` and the media URL (NULL for a URL over 500 characters). A new-only job skips
    an item whose key its owner's library holds for that source, before fetching it."""

    class Meta:
        table = "asset"
        # Named indexes, made by migrations (a field's db_index adds none to a table that
        # exists): 0005 the quarters for the near-duplicate lookup, the rest for groups and
        # backfill; 0008 an item's key, for new-only jobs.
        indexes = (
            *(
                Index(fields=(name,), name=f"idx_asset_{name}")
                for name in ("q0", "q1", "q2", "q3", "hashed", "duplicate_of")
            ),
            Index(fields=("source", "item_key"), name="idx_asset_source_item_key"),
        )
