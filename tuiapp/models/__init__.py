"""Tortoise models, one aggregate per module; only ``tuiapp.storage`` uses them."""

from __future__ import annotations

from tuiapp.models.answer import CachedAnswer
from tuiapp.models.asset import Asset
from tuiapp.models.blob import BlobChunk, MediaBlob
from tuiapp.models.job import Job, JobSource
from tuiapp.models.user import User
from tuiapp.models.watch import Watch
from tuiapp.models.web import Thumbnail, WebSession

__all__ = [
    "Asset",
    "BlobChunk",
    "CachedAnswer",
    "Job",
    "JobSource",
    "MediaBlob",
    "Thumbnail",
    "User",
    "Watch",
    "WebSession",
]
