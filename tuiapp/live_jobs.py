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


@dataclass(slots=True)
class Board:
    """Jobs seen in this session, newest last; ``current`` is the one the Board screen follows."""

    default_timeout: float = DEFAULT_TIMEOUT
    jobs: dict[int, JobView] = field(default_factory=dict)
    current: int | None = None

    def load(self, info: JobInfo) -> JobView:
        """Take a job's state from the engine (replacing what the board had)."""
        view = self.jobs[info.id] = JobView.of(info, self.default_timeout)
        return view

    def apply(self, event: Event) -> bool:
        """Fold one engine event in. Returns True when a job's life changed (not mere progress)."""
        view = fold(self.jobs.get(event.job_id), event, default_timeout=self.default_timeout)
        if view is None:
            self.jobs.pop(event.job_id, None)
            if self.current == event.job_id:
                self.current = None
        else:
            self.jobs[event.job_id] = view
        return not isinstance(event, _PROGRESS)
