"""Accounts: a name and the sha256 of an API token (the token itself is never stored)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class User(Model):
    _no_comments = True  # no "#:" field comments: the ORM need not read this source
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"
