"""A job (one query over some sources) and its per-source state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from tuiapp.models.user import User


class Job(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="jobs", null=True, on_delete=fields.CASCADE
    )
    query = fields.TextField()
    count = fields.IntField()
    options: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    """The settings the job ran with (no secrets)."""
    state = fields.CharField(max_length=16, db_index=True)
    error = fields.TextField(null=True)
    rerun_of = fields.IntField(null=True)
    runner = fields.CharField(max_length=128, null=True)
    """host:pid of the process running the job, so start-up recovery spares live ones."""
    lease_until = fields.DatetimeField(null=True)
    """A worker holds a running job until then and renews it; past it, another may take over."""
    claims = fields.IntField(default=0)
    """How many times a worker claimed the job (more than once: taken over from a dead one)."""
    cancel_requested = fields.BooleanField(default=False)
    """Set by any process; the worker running the job sees it and stops."""
    new_only = fields.BooleanField(null=True, default=False)
    """Skip what the owner's library holds already (counted as ``known``, not fetched); NULL
    in rows made before it existed (a column added to a table cannot be NOT NULL)."""
    watch_id = fields.IntField(null=True)
    """The watch this job is a run of (a plain id: a deleted watch leaves its runs)."""
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    sources: fields.ReverseRelation[JobSource]

    class Meta:
        table = "job"
        indexes = (Index(fields=("watch_id",), name="idx_job_watch_id"),)


class JobSource(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    job: fields.ForeignKeyRelation[Job] = fields.ForeignKeyField(
        "models.Job", related_name="sources", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    source = fields.CharField(max_length=64)
    state = fields.CharField(max_length=16)
    found = fields.IntField(default=0)
    stored = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    bytes = fields.BigIntField(default=0)
    known = fields.IntField(null=True, default=0)
    """Items skipped by a new-only job: the library held them already (NULL in rows made
    before it existed)."""
    error = fields.TextField(null=True)
    error_code = fields.CharField(max_length=32, null=True)
    cancel_requested = fields.BooleanField(default=False)
    """Asked for by a process other than the one running the job (read at its heartbeat)."""

    class Meta:
        table = "job_source"
        unique_together = (("job", "source"),)
