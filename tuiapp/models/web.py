"""What the web page keeps: sign-in sessions and the thumbnails of stored pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from tuiapp.models.blob import MediaBlob
    from tuiapp.models.user import User


class WebSession(Model):
    """A browser signed in as a user: the sha256 of its cookie's value (never the value)."""

    _no_comments = True  # no "#:" field comments: the ORM need not read this source

    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="web_sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "web_session"


class Thumbnail(Model):
    """A stored picture made small (longest side 320 px), once per blob.

    ``data`` is empty when the file could not be made into one (no picture): not tried again.
    """

    _no_comments = True  # no "#:" field comments: the ORM need not read this source

    id = fields.IntField(primary_key=True)
    blob: fields.OneToOneRelation[MediaBlob] = fields.OneToOneField(
        "models.MediaBlob", related_name="thumbnail", on_delete=fields.CASCADE
    )
    mime = fields.CharField(max_length=32)
    width = fields.IntField()
    height = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "thumbnail"
