"""App-wide Textual messages: what the bridge turns engine events into.

Progress messages say when a newer message may replace a pending one (``can_replace``), so a
busy engine cannot flood the UI's message queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

__all__ = [
    "AssetAdded",
    "EventsLost",
    "ItemRejected",
    "JobEnded",
    "JobQueued",
    "JobRemoved",
    "JobRunning",
    "SourceUpdated",
    "TransferUpdated",
]


@dataclass
class JobQueued(Message):
    """A job was submitted (here, through the HTTP API or by a re-run)."""

    job_id: int
    query: str
    sources: tuple[str, ...]
    count: int


@dataclass
class JobRunning(Message):
    """A job started; ``timeout`` is GLOBAL_JOB_TIMEOUT in seconds."""

    job_id: int
    started_at: float
    """Wall-clock seconds (``time.time()``) when it started."""
    timeout: float


@dataclass
class SourceUpdated(Message):
    """New counters or a new state of one source of a job."""

    job_id: int
    source: str
    state: str
    found: int
    stored: int
    failed: int
    bytes: int
    speed: float
    error: str | None = None
    final: bool = False
    """True for a source's last word (its end state and error): never replaced by progress."""

    def can_replace(self, message: Message) -> bool:
        return (
            not self.final
            and isinstance(message, SourceUpdated)
            and message.job_id == self.job_id
            and message.source == self.source
        )


@dataclass
class TransferUpdated(Message):
    """Progress of one file in flight; the pane shows the latest one of each source."""

    job_id: int
    source: str
    item: str
    downloaded: int
    total: int | None

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, TransferUpdated)
            and message.job_id == self.job_id
            and message.source == self.source
        )


@dataclass
class AssetAdded(Message):
    job_id: int
    source: str
    asset_id: int
    title: str | None
    size: int
    deduplicated: bool


@dataclass
class ItemRejected(Message):
    """One file of a source failed (the source goes on)."""

    job_id: int
    source: str
    url: str
    error: str


@dataclass
class SourceNoted(Message):
    """A source said something for the user (rate-limit status, a fallback taken)."""

    job_id: int
    source: str
    text: str


@dataclass
class JobEnded(Message):
    job_id: int
    state: str
    stored: int
    failed: int
    bytes: int
    elapsed: float
    error: str | None


@dataclass
class JobRemoved(Message):
    job_id: int


@dataclass
class EventsLost(Message):
    """The UI fell so far behind that events were dropped: reload state from the engine."""
