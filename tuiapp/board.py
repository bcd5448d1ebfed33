"""What the UI knows about jobs between engine calls: live per-source counters, kept by the app.

The app applies every engine event to one :class:`Board`; the board redraws from it on a
timer, so a burst of progress costs a few dictionary writes, not a redraw per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tuiapp import events as ev
from tuiapp.jobs import TERMINAL_JOB_STATES, TERMINAL_SOURCE_STATES, JobState

if TYPE_CHECKING:
    from tuiapp.events import Event
    from tuiapp.jobs import JobInfo

__all__ = ["Board", "JobView", "SourceView", "eta"]

_ENDED_SOURCE = frozenset({s.value for s in TERMINAL_SOURCE_STATES})


def eta(target: int, stored: int, started_at: float | None, now: float) -> float | None:
    """Seconds until ``target`` files are stored at the pace since ``started_at``, or None."""
    if started_at is None or stored <= 0 or target <= stored or now <= started_at:
        return None
    per_file = (now - started_at) / stored
    return per_file * (target - stored)


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source of one job as a pane shows it (frozen: a pane redraws only when it changes)."""

    name: str
    state: str = "queued"
    found: int = 0
    stored: int = 0
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


@dataclass(slots=True)
class JobView:
    id: int
    query: str
    count: int
    sources: dict[str, SourceView]
    state: str = JobState.QUEUED.value
    started_at: float | None = None
    """Wall-clock start (seconds since the epoch); None while queued."""
    elapsed: float | None = None
    """Seconds the job ran, once it has finished."""
    timeout: float = 300.0
    stored: int = 0
    bytes: int = 0
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in {s.value for s in TERMINAL_JOB_STATES}

    def progress(self) -> float:
        """How much of the job is behind it, 0..1: a source that ended counts as complete."""
        if not self.sources or self.count <= 0:
            return 1.0 if self.finished else 0.0
        if self.finished:
            return 1.0
        parts = [
            1.0 if s.state in _ENDED_SOURCE else min(s.stored, self.count) / self.count
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


KEEP_FINISHED = 50
"""Finished jobs a board keeps (the newest; the one it follows stays too): an app left open for
weeks holds what runs now and the last few, not every job it ever saw. Older ones are a
lookup away (History, or following one again loads it)."""


@dataclass(slots=True)
class Board:
    """Jobs seen in this session, newest last; ``current`` is the one the board follows.

    Every job still running stays; of the finished ones, the newest ``keep_finished``.
    """

    default_timeout: float = 300.0
    jobs: dict[int, JobView] = field(default_factory=dict)
    current: int | None = None
    keep_finished: int = KEEP_FINISHED

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond ``keep_finished`` (never the followed one)."""
        finished = [i for i, job in self.jobs.items() if job.finished and i != self.current]
        for job_id in finished[: max(0, len(finished) - self.keep_finished)]:
            del self.jobs[job_id]

    def load(self, info: JobInfo) -> JobView:
        """Take a job's state from the engine (replacing what the board had)."""
        started = info.started_at.timestamp() if info.started_at else None
        elapsed = None
        if info.finished_at is not None and info.started_at is not None:
            elapsed = (info.finished_at - info.started_at).total_seconds()
        elif info.state in TERMINAL_JOB_STATES:
            elapsed = 0.0
        view = JobView(
            id=info.id,
            query=info.query,
            count=info.count,
            sources={
                s.source: SourceView(
                    s.source,
                    s.state.value,
                    s.found,
                    s.stored,
                    s.failed,
                    s.bytes,
                    error=s.error,
                    error_code=s.error_code,
                    target=info.count,
                )
                for s in info.sources
            },
            state=info.state.value,
            started_at=started,
            elapsed=elapsed,
            timeout=info.timeout or self.default_timeout,
            stored=info.stored,
            bytes=info.bytes,
            error=info.error,
        )
        self.jobs[info.id] = view
        self._forget_old()
        return view

    def apply(self, event: Event) -> bool:
        """Apply one engine event. Returns True when a job's life changed (not mere progress)."""
        match event:
            case ev.JobSubmitted():
                self.jobs[event.job_id] = JobView(
                    event.job_id,
                    event.query,
                    event.count,
                    {name: SourceView(name, target=event.count) for name in event.sources},
                    timeout=self.default_timeout,
                )
                return True
            case ev.JobStarted():
                job = self.jobs.get(event.job_id)
                if job is not None:
                    job.state = JobState.RUNNING.value
                    job.started_at = event.ts
                    job.timeout = event.timeout
                return True
            case ev.SourceStarted():
                return self._update(
                    event.job_id,
                    event.source,
                    state=event.state,
                    error=None,
                    error_code=None,
                    transfer=None,
                    started_at=event.ts,
                )
            case ev.SourceProgress():
                job = self.jobs.get(event.job_id)
                old = job.sources.get(event.source) if job is not None else None
                started = old.started_at if old is not None else None
                target = job.count if job is not None else 0
                self._update(
                    event.job_id,
                    event.source,
                    state=event.state,
                    found=event.found,
                    stored=event.stored,
                    failed=event.failed,
                    bytes=event.bytes,
                    speed=event.speed,
                    eta=eta(target, event.stored, started, event.ts),
                )
                return False
            case ev.SourceFinished():
                return self._update(
                    event.job_id,
                    event.source,
                    state=event.state,
                    found=event.found,
                    stored=event.stored,
                    failed=event.failed,
                    bytes=event.bytes,
                    speed=0.0,
                    eta=None,
                    error=event.error,
                    error_code=event.error_code,
                    transfer=None,
                )
            case ev.TransferProgress():
                self._update(
                    event.job_id,
                    event.source,
                    known_only=True,
                    transfer=(event.item, event.downloaded, event.total),
                )
                return False
            case ev.ItemFailed():
                name = event.url.rsplit("/", 1)[-1]
                self._update(
                    event.job_id,
                    event.source,
                    known_only=True,
                    last_item_error=f"{name}: {event.error}",
                )
                return False
            case ev.SourceNotice():
                self._update(event.job_id, event.source, known_only=True, notice=event.message)
                return False
            case ev.AssetStored():
                return True
            case ev.JobFinished():
                job = self.jobs.get(event.job_id)
                if job is not None:
                    job.state = event.state
                    job.elapsed = event.elapsed
                    job.stored = event.stored
                    job.bytes = event.bytes
                    job.error = event.error
                    job.sources = {
                        name: replace(view, speed=0.0, eta=None, transfer=None)
                        for name, view in job.sources.items()
                    }
                    self._forget_old()
                return True
            case ev.JobDeleted():
                self.jobs.pop(event.job_id, None)
                if self.current == event.job_id:
                    self.current = None
                return True
        return False

    def _update(
        self, job_id: int, source: str, *, known_only: bool = False, **changes: Any
    ) -> bool:
        """Change one source's view of a job on the board; True if the job is on it.

        With ``known_only`` a source the board has not seen is left alone (a file's progress
        says nothing about the source's state); otherwise it is added.
        """
        job = self.jobs.get(job_id)
        if job is None:
            return False
        old = job.sources.get(source)
        if old is None:
            if known_only:
                return True
            old = SourceView(source, target=job.count)
        job.sources[source] = replace(old, **changes)
        return True
