"""What the terminal app knows about jobs between engine calls: each job's live view.

The app folds every engine event into one :class:`Board` (with :func:`tuiapp.events.fold`, the
reducer every client shares); the Board screen redraws from it on a timer, so a burst of progress
costs a few dictionary writes, not a redraw per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tuiapp.events import (
    DEFAULT_TIMEOUT,
    ItemFailed,
    JobFinished,
    JobView,
    SourceNotice,
    SourceProgress,
    SourceView,
    TransferProgress,
    eta,
    fold,
)

if TYPE_CHECKING:
    from tuiapp.events import Event
    from tuiapp.jobs import JobInfo

__all__ = ["Board", "JobView", "SourceView", "eta"]

_PROGRESS = (SourceProgress, TransferProgress, ItemFailed, SourceNotice)
"""Events that change counters or a pane's last line, not a job's life."""


KEEP_FINISHED = 50
"""Finished jobs a board keeps (the newest; the one it follows stays too): an app left open for
weeks holds what runs now and the last few, not every job it ever saw. Older ones are a
lookup away (History, or following one again loads it)."""


@dataclass(slots=True)
class Board:
    """Jobs seen in this session, newest last; ``current`` is the one the Board screen follows.

    Every job still running stays; of the finished ones, the newest ``keep_finished``.
    """

    default_timeout: float = DEFAULT_TIMEOUT
    jobs: dict[int, JobView] = field(default_factory=dict)
    current: int | None = None
    keep_finished: int = KEEP_FINISHED

    def load(self, info: JobInfo) -> JobView:
        """Take a job's state from the engine (replacing what the board had)."""
        view = self.jobs[info.id] = JobView.of(info, self.default_timeout)
        self._forget_old()
        return view

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond ``keep_finished`` (never the followed one)."""
        finished = [i for i, job in self.jobs.items() if job.finished and i != self.current]
        for job_id in finished[: max(0, len(finished) - self.keep_finished)]:
            del self.jobs[job_id]

    def apply(self, event: Event) -> bool:
        """Fold one engine event in. Returns True when a job's life changed (not mere progress)."""
        view = fold(self.jobs.get(event.job_id), event, default_timeout=self.default_timeout)
        if view is None:
            self.jobs.pop(event.job_id, None)
            if self.current == event.job_id:
                self.current = None
        else:
            self.jobs[event.job_id] = view
            if isinstance(event, JobFinished):
                self._forget_old()
        return not isinstance(event, _PROGRESS)
