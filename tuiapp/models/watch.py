"""A saved topic the scheduler turns into a new-only job every so often, and how its runs went."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from tuiapp.models.user import User


class Watch(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="watches", null=True, on_delete=fields.CASCADE
    )
    query = fields.TextField()
    sources: fields.JSONField[list[str]] = fields.JSONField(default=list)
    count = fields.IntField()
    options: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    every = fields.IntField()
    """Seconds between runs."""
    webhook = fields.TextField(null=True)
    """Where each run's digest is POSTed (a URL the user named)."""
    paused = fields.BooleanField(default=False)
    next_run_at = fields.DatetimeField()
    """When the watch is due. Claiming a run moves it on in the same statement: the database
    decides which process runs a due watch."""
    last_run_at = fields.DatetimeField(null=True)
    last_job_id = fields.IntField(null=True)
    """The job of the latest run."""
    reported_job_id = fields.IntField(null=True)
    """The latest run whose outcome was recorded here (and its digest sent)."""
    last_new = fields.IntField(null=True)
    last_known = fields.IntField(null=True)
    total_new = fields.IntField(default=0)
    runs = fields.IntField(default=0)
    failures = fields.IntField(default=0)
    """Failed runs in a row: the schedule backs off while it grows."""
    last_error = fields.TextField(null=True)
    webhook_error = fields.TextField(null=True)
    """Why the last digest could not be delivered (NULL: delivered, or no webhook)."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "watch"
        indexes = (Index(fields=("paused", "next_run_at"), name="idx_watch_due"),)
