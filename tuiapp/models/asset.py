"""Where a stored file came from: the job, the source, the URLs and what the source said of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from tuiapp.models.blob import MediaBlob
    from tuiapp.models.job import Job
    from tuiapp.models.user import User


class Asset(Model):
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

    class Meta:
        table = "asset"
