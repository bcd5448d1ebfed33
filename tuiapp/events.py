"""Everything the engine tells its clients: frozen, JSON-able events, one class per kind.

Lifecycle events are delivered to every subscriber in order and never dropped. Progress events
(``coalesce_key`` is not None) may be merged: a subscriber that falls behind sees the latest
progress for each key, not every step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

__all__ = [
    "EVENT_TYPES",
    "AssetStored",
    "Event",
    "ItemFailed",
    "JobDeleted",
    "JobFinished",
    "JobStarted",
    "JobSubmitted",
    "SourceFinished",
    "SourceNotice",
    "SourceProgress",
    "SourceStarted",
    "TransferProgress",
    "WatchRan",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event. ``owner_id`` lets clients show each user only their own jobs."""

    kind: ClassVar[str] = "event"
    job_id: int
    owner_id: int | None
    ts: float = field(default_factory=time.time)

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        """Events with equal non-None keys may be merged (latest wins)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            data[f.name] = getattr(self, f.name)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSubmitted(Event):
    kind: ClassVar[str] = "job_submitted"
    query: str
    sources: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStarted(Event):
    kind: ClassVar[str] = "job_started"
    timeout: float
    """GLOBAL_JOB_TIMEOUT in seconds, so clients can show elapsed time against it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceStarted(Event):
    kind: ClassVar[str] = "source_started"
    source: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceProgress(Event):
    """Counters of one source; coalesced per (job, source)."""

    kind: ClassVar[str] = "source_progress"
    source: str
    state: str
    found: int
    stored: int
    failed: int
    bytes: int
    speed: float
    """Bytes per second over the last few seconds."""
    known: int = 0
    """Items passed over by a new-only job: the library held them already."""

    @property
    def coalesce_key(self) -> tuple[Any, ...]:
        return (self.kind, self.job_id, self.source)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferProgress(Event):
    """One file in flight; coalesced per (job, source, item)."""

    kind: ClassVar[str] = "transfer_progress"
    source: str
    item: str
    """A stable key of the file in flight (its URL)."""
    downloaded: int
    total: int | None
    speed: float | None = None
    eta: float | None = None
    fragment_index: int | None = None
    fragment_count: int | None = None

    @property
    def coalesce_key(self) -> tuple[Any, ...]:
        return (self.kind, self.job_id, self.source, self.item)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceNotice(Event):
    """Something a source wants the user to know (rate-limit status, a fallback taken)."""

    kind: ClassVar[str] = "source_notice"
    source: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetStored(Event):
    kind: ClassVar[str] = "asset_stored"
    source: str
    asset_id: int
    url: str
    title: str | None
    mime: str
    size: int
    sha256: str
    deduplicated: bool
    """True when the same bytes were already stored for this owner (no new blob written)."""
    duplicate_of: int | None = None
    """The best copy of the same picture already in the owner's library, when this is not it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemFailed(Event):
    kind: ClassVar[str] = "item_failed"
    source: str
    url: str
    error: str
    error_code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFinished(Event):
    kind: ClassVar[str] = "source_finished"
    source: str
    state: str
    found: int
    stored: int
    failed: int
    bytes: int
    error: str | None
    error_code: str | None
    known: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFinished(Event):
    kind: ClassVar[str] = "job_finished"
    state: str
    stored: int
    failed: int
    bytes: int
    elapsed: float
    error: str | None = None
    known: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchRan(Event):
    """A watch's run ended and was recorded; ``job_id`` is the run's job."""

    kind: ClassVar[str] = "watch_ran"
    watch_id: int
    state: str
    """The job's end state (``deleted``: the job was deleted before it was recorded)."""
    new: int
    known: int
    error: str | None = None
    """Why the run failed (then the schedule backs off)."""
    failures: int = 0
    """Failed runs in a row."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDeleted(Event):
    kind: ClassVar[str] = "job_deleted"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        JobSubmitted,
        JobStarted,
        SourceStarted,
        SourceProgress,
        TransferProgress,
        SourceNotice,
        AssetStored,
        ItemFailed,
        SourceFinished,
        JobFinished,
        JobDeleted,
        WatchRan,
    )
}
"""Event kind -> class, for clients that rebuild events from JSON."""
