"""The bar above the Board's panes: which job and its state, overall progress, the time budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget

from tuiapp.text import printable
from tuiapp.widgets.formatting import bar, clock, human_bytes, state_style, state_words

if TYPE_CHECKING:
    from tuiapp.events import JobView, SourceView

__all__ = ["EMPTY_HINT", "JobBar", "asked_of", "job_progress", "only_found"]

EMPTY_HINT = "No job yet: press n to start one."


def asked_of(job: JobView, source: SourceView) -> int:
    """Files asked of ``source``: the job's count, or what it found when it ran out (ended
    ``done`` with fewer files than asked)."""
    if source.state == "done" and source.stored < job.count:
        return min(job.count, max(source.found, source.stored))
    return job.count


def only_found(job: JobView) -> int | None:
    """How many files exist, once every source has ended ``done`` and at least one ran out
    before the count; None while a source runs, failed, or when all got what was asked."""
    views = list(job.sources.values())
    if not views or any(s.state != "done" for s in views):
        return None
    asked = sum(asked_of(job, s) for s in views)
    return asked if asked < job.count * len(views) else None


def job_progress(job: JobView) -> float:
    """Files stored of what was asked, 0..1; once every source has run out or got all it was
    asked (see :func:`only_found`), of what exists.

    A source that failed or was cancelled still counts what it was asked: a job cut at 6 of 100
    reads 6 %, one whose sources all failed 0 %.
    """
    found = only_found(job)
    asked = found if found is not None else job.count * len(job.sources)
    if asked <= 0:
        return 1.0 if job.finished else 0.0
    stored = sum(min(s.stored, job.count) for s in job.sources.values())
    return min(1.0, stored / asked)


class JobBar(Widget):
    """Two lines: the job and its totals, then overall progress with the time budget beside it.

    The bar measures files stored against what the job asks, or against what exists once the
    sources have run out ("only N found"); the time is elapsed against GLOBAL_JOB_TIMEOUT, in
    words, never as a bar.
    """

    DEFAULT_CSS = """
    JobBar { height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._line: tuple[object, ...] = ()
        self._text = Text(EMPTY_HINT, style="dim")

    def show(
        self,
        *,
        job_id: int,
        query: str,
        state: str,
        elapsed: float,
        timeout: float,
        stored: int,
        target: int,
        failed: int,
        size: int,
        progress: float,
        only_found: int | None = None,
    ) -> None:
        """Update the bar; it redraws only when what it shows changed (elapsed in whole seconds)."""
        line = (
            job_id,
            query,
            state,
            int(elapsed),
            timeout,
            stored,
            target,
            failed,
            size,
            round(progress, 3),
            only_found,
            self.size.width,
        )
        if line == self._line:
            return
        self._line = line
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"Job {job_id} ", style="bold")
        text.append(f"“{printable(query)}” ")
        text.append(state_words(state), style=state_style(state) or "bold")
        text.append(f" · {stored} of {target} stored")
        if only_found is not None:
            text.append(f" · only {only_found} found", style="yellow")
        if failed:
            text.append(" · ")
            text.append(f"{failed} failed", style="red")
        text.append(f" · {human_bytes(size)}")
        text.append("\n")
        budget = f"  time {clock(elapsed)} of {clock(timeout)}"
        pct = f" {round(100 * progress):>3}%"
        width = max(6, self.size.width - len("Progress ") - len(pct) - len(budget))
        filled, empty = bar(progress, width)
        text.append("Progress ", style="bold")
        text.append(filled, style="bold" if state == "running" else "")
        text.append(empty, style="dim")
        text.append(pct)
        over = timeout > 0 and elapsed > 0.8 * timeout and state == "running"
        text.append(budget, style="bold yellow" if over else "dim")
        self._text = text
        self.refresh()

    def clear(self) -> None:
        self._line = ()
        self._text = Text(EMPTY_HINT, style="dim")
        self.refresh()

    def render(self) -> Text:
        return self._text
