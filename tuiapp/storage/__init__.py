"""The database behind the engine: jobs, users, the worker queue, assets and chunked blobs.

The only user of the ORM; callers get the dataclasses of :mod:`tuiapp.jobs` back, never model
instances. Rooms, each importing only the ones below it (an import-linter contract holds it):

- ``service``: :class:`Storage`, the facade the engine holds; it wires the rooms below.
- ``blobs``: :class:`BlobSink`, one file's bytes in order, hashed and chunked.
- ``users``, ``jobs``, ``queue`` (claim, leases, cancel, notify/listen), ``assets`` (queries and
  reads), ``answers`` (API answers a source must cache), ``integrity`` (the report), ``writer``
  (the one task that batches blob writes), ``web`` (the web page's sessions and thumbnails).
- ``rows``: the asset rows the writer inserts (with a picture's fingerprint).
- ``similar``: near-duplicate groups (hash quarters, best copies), settled in the writer's batch.
- ``records``: row helpers the rooms share (chunk reads, blob removal, job counters).
- ``database``: connection set-up, SQLite creation, migrations, the SQL dialect, runner ids.
"""

from __future__ import annotations

from tuiapp.storage.blobs import BlobSink
from tuiapp.storage.database import retry_through_outage
from tuiapp.storage.queue import Listener
from tuiapp.storage.records import CHUNK_SIZE
from tuiapp.storage.rows import NewAsset
from tuiapp.storage.service import Storage
from tuiapp.storage.watches import FinishedRun
from tuiapp.storage.web import StoredThumbnail
from tuiapp.storage.writer import StoredAsset

__all__ = [
    "CHUNK_SIZE",
    "BlobSink",
    "FinishedRun",
    "Listener",
    "NewAsset",
    "Storage",
    "StoredAsset",
    "StoredThumbnail",
    "retry_through_outage",
]
