"""Answers an API asked tuiapp to keep (Pixabay: 24 hours), by source and a hash of the question."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CachedAnswer(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=64)
    key = fields.CharField(max_length=64)
    """sha256 of the question, secrets (an API key) left out."""
    value = fields.TextField()
    stored_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "cached_answer"
        unique_together = (("source", "key"),)
