"""Everything the engine tells its clients: frozen, JSON-able events, one class per kind, and
the one reducer that folds them into a job's live view (:func:`fold`).

Lifecycle events are delivered to every subscriber in order and never dropped. Progress events
(``coalesce_key`` is not None) may be merged: a subscriber that falls behind sees the latest
progress for each key, not every step. States are the enums of :mod:`tuiapp.jobs` (``StrEnum``:
they serialise as their plain string).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

from tuiapp.jobs import JobState, SourceState

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tuiapp.jobs import JobInfo

__all__ = [
    "EVENT_TYPES",
    "AssetStored",
    "Event",
    "ItemFailed",
    "JobDeleted",
    "JobFinished",
    "JobStarted",
    "JobSubmitted",
    "JobView",
    "SourceFinished",
    "SourceNotice",
    "SourceProgress",
    "SourceStarted",
    "SourceView",
    "TransferProgress",
    "WatchRan",
    "eta",
    "fold",
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

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Event:
        """The event ``to_dict`` (or its JSON) wrote, states back as enums.

        Raises:
            KeyError: an unknown kind. TypeError: missing or unknown fields. ValueError: a
                state no enum has.
        """
        values = dict(data)
        cls = EVENT_TYPES[values.pop("kind")]
        if "state" in values:
            values["state"] = (JobState if cls is JobFinished else SourceState)(values["state"])
        return cls(**values)


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
    state: SourceState


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceProgress(Event):
    """Counters of one source; coalesced per (job, source)."""

    kind: ClassVar[str] = "source_progress"
    source: str
    state: SourceState
    found: int
    stored: int
    failed: int
    bytes: int
    speed: float
    """Bytes per second over the last few seconds."""
    known: int = 0  # items passed over by a new-only job: the library held them already

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
    state: SourceState
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
    state: JobState
    stored: int
    failed: int
    bytes: int
    elapsed: float
    error: str | None = None
    known: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchRan(Event):
    """A watch's run ended and was recorded (``job_id``: the run's job; ``state``: its end,
    ``deleted`` when it was deleted first; ``error``: why the run failed, and ``failures``
    in a row, when it did: the schedule backs off)."""

    kind: ClassVar[str] = "watch_ran"
    watch_id: int
    state: str
    new: int
    known: int
    error: str | None = None
    failures: int = 0


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


# --- the reducer: a job's live view, folded from its events ----------------------------------

DEFAULT_TIMEOUT = 300.0
"""The budget a view shows for a job until its start says (GLOBAL_JOB_TIMEOUT's default)."""


def eta(target: int, stored: int, started_at: float | None, now: float) -> float | None:
    """Seconds until ``target`` files are stored at the pace since ``started_at``, or None."""
    if started_at is None or stored <= 0 or target <= stored or now <= started_at:
        return None
    per_file = (now - started_at) / stored
    return per_file * (target - stored)


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source of a job as the events so far tell it."""

    name: str
    state: SourceState = SourceState.QUEUED
    found: int = 0
    stored: int = 0
    """The larger of the newest progress report and the files announced (``AssetStored``)."""
    failed: int = 0
    bytes: int = 0
    speed: float = 0.0
    error: str | None = None
    """Why the source failed, timed out or was blocked (the full text)."""
    error_code: str | None = None
    """The error's stable code; :func:`tuiapp.errors.error_label` turns it into a short label."""
    target: int = 0
    """How many files the job asks of each source (0: not known)."""
    started_at: float | None = None
    """When the source started (engine time), for the ETA."""
    eta: float | None = None
    """Seconds until ``target`` files are stored at the pace so far; None when unknown."""
    last_item_error: str | None = None
    """The latest file that could not be stored, and why."""
    notice: str | None = None
    """The latest thing the source said (rate-limit status and the like)."""
    transfer: tuple[str, int, int | None] | None = None
    """The latest file in flight: (url, bytes so far, total bytes or None)."""
    announced: tuple[int, int] = (0, 0)
    """Files and bytes of the ``AssetStored`` events seen. Progress is coalesced and may be
    older or newer than them: each figure is the larger of the two, never their sum."""
    known: int = 0  # items a new-only job passed over: the library held them already


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as the events so far tell it; :func:`fold` makes the next one."""

    id: int
    query: str
    count: int
    sources: Mapping[str, SourceView]
    state: JobState = JobState.QUEUED
    started_at: float | None = None
    """Wall-clock start (seconds since the epoch); None while queued."""
    elapsed: float | None = None
    """Seconds the job ran, once it has finished."""
    timeout: float = DEFAULT_TIMEOUT
    stored: int = 0
    bytes: int = 0
    error: str | None = None
    known: int = 0

    @classmethod
    def of(cls, info: JobInfo, default_timeout: float = DEFAULT_TIMEOUT) -> JobView:
        """The view of a job as the engine answered for it (a snapshot to fold events onto)."""
        started = info.started_at.timestamp() if info.started_at else None
        elapsed = None
        if info.finished_at is not None and info.started_at is not None:
            elapsed = (info.finished_at - info.started_at).total_seconds()
        elif info.state.finished:
            elapsed = 0.0
        return cls(
            id=info.id,
            query=info.query,
            count=info.count,
            sources={
                s.source: SourceView(
                    s.source,
                    s.state,
                    s.found,
                    s.stored,
                    s.failed,
                    s.bytes,
                    error=s.error,
                    error_code=s.error_code,
                    target=info.count,
                    known=s.known,
                )
                for s in info.sources
            },
            state=info.state,
            started_at=started,
            elapsed=elapsed,
            timeout=info.timeout or default_timeout,
            stored=info.stored,
            bytes=info.bytes,
            error=info.error,
            known=info.known,
        )

    def onto(self, info: JobInfo) -> JobInfo:
        """``info`` with this view's state and counters for each of its sources."""
        counted = ("state", "found", "stored", "failed", "bytes", "known")
        return replace(
            info,
            sources=tuple(
                replace(s, **{name: getattr(v, name) for name in counted})
                if (v := self.sources.get(s.source)) is not None
                else s
                for s in info.sources
            ),
        )

    @property
    def finished(self) -> bool:
        return self.state.finished

    def progress(self) -> float:
        """How much of the job is behind it, 0..1: a source that ended counts as complete."""
        if not self.sources or self.count <= 0 or self.finished:
            return 1.0 if self.finished else 0.0
        parts = [
            1.0 if s.state.finished else min(s.stored, self.count) / self.count
            for s in self.sources.values()
        ]
        return sum(parts) / len(parts)

    def elapsed_at(self, now: float) -> float:
        if self.elapsed is not None:
            return self.elapsed
        if self.started_at is None:
            return 0.0
        return max(0.0, now - self.started_at)

    def totals(self) -> tuple[int, int, int]:
        """(stored, failed, bytes) over every source."""
        views = self.sources.values()
        return (
            sum(s.stored for s in views),
            sum(s.failed for s in views),
            sum(s.bytes for s in views),
        )


def fold(
    view: JobView | None, event: Event, *, default_timeout: float = DEFAULT_TIMEOUT
) -> JobView | None:
    """The job's view after ``event``: the one reducer the terminal app's Board, `tuiapp get`'s
    progress and the engine's live view share (pure: ``view`` is left as it was).

    ``view`` is the job's view so far (None: not known) and ``event`` one of its events.
    ``job_submitted`` starts a view, ``job_deleted`` ends it (None); the others change a known
    view only (a file's progress, a failed file or a notice only for a source already known).
    """
    if isinstance(event, JobSubmitted):
        return JobView(
            event.job_id,
            event.query,
            event.count,
            {name: SourceView(name, target=event.count) for name in event.sources},
            timeout=default_timeout,
        )
    if view is None or isinstance(event, JobDeleted):
        return None
    match event:
        case JobStarted():
            return replace(view, state=JobState.RUNNING, started_at=event.ts, timeout=event.timeout)
        case SourceStarted():
            return _source(
                view,
                event.source,
                state=event.state,
                error=None,
                error_code=None,
                transfer=None,
                started_at=event.ts,
            )
        case SourceProgress():
            old = view.sources.get(event.source) or SourceView(event.source, target=view.count)
            stored = max(event.stored, old.announced[0])
            return _source(
                view,
                event.source,
                state=event.state,
                found=event.found,
                stored=stored,
                failed=event.failed,
                bytes=max(event.bytes, old.announced[1]),
                known=event.known,
                speed=event.speed,
                eta=eta(view.count, stored, old.started_at, event.ts),
            )
        case AssetStored():
            old = view.sources.get(event.source) or SourceView(event.source, target=view.count)
            files, size = old.announced[0] + 1, old.announced[1] + event.size
            return _source(
                view,
                event.source,
                stored=max(old.stored, files),
                bytes=max(old.bytes, size),
                announced=(files, size),
            )
        case SourceFinished():
            return _source(
                view,
                event.source,
                state=event.state,
                found=event.found,
                stored=event.stored,
                failed=event.failed,
                bytes=event.bytes,
                known=event.known,
                speed=0.0,
                eta=None,
                error=event.error,
                error_code=event.error_code,
                transfer=None,
                announced=(event.stored, event.bytes),
            )
        case TransferProgress():
            transfer = (event.item, event.downloaded, event.total)
            return _source(view, event.source, known_only=True, transfer=transfer)
        case ItemFailed():
            name = event.url.rsplit("/", 1)[-1]
            failure = f"{name}: {event.error}"
            return _source(view, event.source, known_only=True, last_item_error=failure)
        case SourceNotice():
            return _source(view, event.source, known_only=True, notice=event.message)
        case JobFinished():
            return replace(
                view,
                state=event.state,
                elapsed=event.elapsed,
                stored=event.stored,
                bytes=event.bytes,
                error=event.error,
                known=event.known,
                sources={
                    name: replace(s, speed=0.0, eta=None, transfer=None)
                    for name, s in view.sources.items()
                },
            )
    return view


def _source(view: JobView, name: str, *, known_only: bool = False, **changes: Any) -> JobView:
    """``view`` with one source changed; a source not seen yet is added, unless ``known_only``
    (a file's progress says nothing about the source's state)."""
    old = view.sources.get(name)
    if old is None:
        if known_only:
            return view
        old = SourceView(name, target=view.count)
    return replace(view, sources={**view.sources, name: replace(old, **changes)})
