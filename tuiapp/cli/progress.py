"""`tuiapp get`'s progress on stderr: Rich's live display on a terminal, plain lines otherwise.

Both reporters take the engine's events as they come and never rename them. Every piece of
remote text (titles, URLs, errors, notices) goes through ``printable``; on a terminal it is also
shown as plain text, never as Rich markup.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Protocol

import click

from tuiapp.cli.common import human_bytes
from tuiapp.text import printable as p

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from tuiapp.events import Event, JobView
    from tuiapp.jobs import Exported, JobInfo

__all__ = ["Reporter", "failure_lines", "make_reporter", "only_found", "summary_lines"]


class Reporter(Protocol):
    def show(self, event: Event) -> None: ...

    def say(self, text: str) -> None: ...

    def stop(self) -> None: ...


def make_reporter(count: int) -> Reporter:
    """A live display when stderr is a terminal, else one plain line per event."""
    return RichReporter(count) if sys.stderr.isatty() else PlainReporter(count)


def failure_lines(job: JobInfo) -> list[str]:
    """One line per source that failed, was blocked or ran out of time: label, then cause.

    ``pexels: no key — set PEXELS_API_KEY to use this source``
    """
    from tuiapp.errors import error_cause, error_label

    lines = []
    for src in job.sources:
        if not src.state.failed and not src.error:
            continue
        label = error_label(src.error_code, src.state.value)
        cause = p(error_cause(src.error))
        lines.append(f"{src.source}: {label} — {cause}" if cause else f"{src.source}: {label}")
    return lines


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def only_found(state: str, found: int, stored: int, count: int) -> int | None:
    """How many files a source found when it ran out before ``count`` (it ended ``done`` with
    fewer than asked); None when it did not run out."""
    if state != "done" or stored >= count:
        return None
    return max(found, stored)


def summary_lines(job: JobInfo, data_dir: Path, dest: Path | None, saved: Exported) -> list[str]:
    """What `tuiapp get` says on a terminal when the job is over: what was stored, where it
    is, and the next command to run. Remote text (the query) is escaped by the caller."""
    names = ", ".join(s.source for s in job.sources)
    state = job.state.value.replace("_", " ")
    lines = [
        f"Job {job.id} {state}: {_files(job.stored)} ({human_bytes(job.bytes)}) stored"
        f" for {job.query!r} from {names}."
    ]
    short = [
        (src.source, n)
        for src in job.sources
        if (n := only_found(src.state.value, src.found, src.stored, job.count)) is not None
    ]
    lines += [f"{name}: only {n} found (asked for {job.count})" for name, n in short]
    if dest is not None:
        lines.append(saved.summary(dest) + ".")
    elif job.stored:
        lines.append(f"They are kept in the library in {data_dir}.")
    if job.stored and dest is None:
        lines.append(
            f"Next: tuiapp export {job.id} DIR (write them into a folder),"
            " or tuiapp (browse them in the app)."
        )
    elif job.stored:
        lines.append("Next: tuiapp (browse them in the app), or tuiapp jobs.")
    else:
        lines.append("Next: tuiapp doctor (what each source needs), or try other sources (-s).")
    return lines


def duplicate_lines(job: JobInfo) -> list[str]:
    """One line per source some of whose files are near-duplicates of another source's."""
    return [
        f"{src.source}: {src.duplicates} of its files"
        f" {'is a near-duplicate' if src.duplicates == 1 else 'are near-duplicates'}"
        " of another source's (tuiapp export --unique skips them)"
        for src in job.sources
        if src.duplicates
    ]


def _line(event: Event, count: int) -> str | None:
    """The plain line for an event; ``None`` for events shown only on a terminal."""
    from tuiapp.events import (
        AssetStored,
        ItemFailed,
        JobFinished,
        SourceFinished,
        SourceNotice,
        SourceStarted,
    )

    if isinstance(event, SourceStarted):
        return f"{event.source}: searching"
    if isinstance(event, AssetStored):
        note = " (already stored)" if event.deduplicated else ""
        what = p(event.title or event.url)
        return f"{event.source}: stored {what} [{human_bytes(event.size)}]{note}"
    if isinstance(event, ItemFailed):
        return f"{event.source}: failed {p(event.url)}: {p(event.error)}"
    if isinstance(event, SourceNotice):
        said = p(event.message)  # some sources name themselves already
        return said if said.startswith(f"{event.source}:") else f"{event.source}: {said}"
    if isinstance(event, SourceFinished):
        why = f": {p(event.error)}" if event.error else ""
        state = event.state.replace("_", " ")
        line = f"{event.source}: {state}, {event.stored} stored, {event.failed} failed{why}"
        n = only_found(event.state, event.found, event.stored, count)
        return line if n is None else f"{line} (only {n} found)"
    if isinstance(event, JobFinished):
        return f"job {event.job_id}: {event.state.replace('_', ' ')} in {event.elapsed:.1f} s"
    return None


class PlainReporter:
    """One line per event that matters, for scripts and logs (stderr is not a terminal)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def show(self, event: Event) -> None:
        text = _line(event, self.count)
        if text is not None:
            click.echo(text, err=True)

    def say(self, text: str) -> None:
        click.echo(text, err=True)

    def stop(self) -> None:
        pass


class RichReporter:
    """Rich's progress display: a line per source with stored/target, a bar, bytes, rate, ETA.

    Stored files, failures and notices scroll above the display as plain lines.
    """

    def __init__(self, count: int, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.count = count
        self.console = console or Console(stderr=True, highlight=False)
        self.progress = Progress(
            TextColumn("{task.fields[source]}", markup=False),
            TextColumn("{task.fields[state]:<11}", markup=False),
            MofNCompleteColumn(),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[bytes]:>9}", markup=False),
            TextColumn("{task.fields[rate]:>11}", markup=False),
            TextColumn("ETA", markup=False),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.tasks: dict[str, Any] = {}
        self.view: JobView | None = None
        """The job as its events tell it (:func:`tuiapp.events.fold`, the Board's reducer)."""
        self.progress.start()

    def _task(self, source: str) -> Any:
        if source not in self.tasks:
            width = max(len(name) for name in [source, *self.tasks])
            for name, task in self.tasks.items():
                self.progress.update(task, source=f"{name}:".ljust(width + 1))
            self.tasks[source] = self.progress.add_task(
                "",
                total=self.count,
                source=f"{source}:".ljust(width + 1),
                state="queued",
                bytes="",
                rate="",
            )
        return self.tasks[source]

    def show(self, event: Event) -> None:
        from tuiapp.events import (
            AssetStored,
            JobView,
            SourceFinished,
            SourceProgress,
            SourceStarted,
            fold,
        )

        if self.view is None:  # the job's submission came before this reporter: start blank
            self.view = JobView(event.job_id, "", self.count, {})
        self.view = fold(self.view, event)
        source = getattr(event, "source", None)
        shown = self.view.sources.get(source) if self.view and source else None
        if shown is not None and isinstance(
            event, SourceStarted | AssetStored | SourceProgress | SourceFinished
        ):
            task = self._task(shown.name)
            finished = isinstance(event, SourceFinished)
            # A source that ran out is complete: its bar is of what it found.
            n = only_found(shown.state, shown.found, shown.stored, self.count)
            self.progress.update(
                task,
                total=self.count if n is None else max(1, n),
                state=shown.state.replace("_", " ") if n is None else f"only {n} found",
                completed=shown.stored,
                bytes=human_bytes(shown.bytes) if shown.stored or shown.bytes else "",
                rate="" if finished or not shown.speed else f"{human_bytes(shown.speed)}/s",
            )
            if finished:
                self.progress.stop_task(task)
        text = _line(event, self.count)
        if text is not None and not isinstance(event, SourceStarted | SourceFinished):
            self.say(text)

    def say(self, text: str) -> None:
        from rich.text import Text

        self.progress.refresh()  # the line goes above the display as it is now, not as it was
        self.progress.console.print(Text(text))

    def stop(self) -> None:
        self.progress.stop()
