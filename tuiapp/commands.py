"""Command palette entries for every action, labelled ``"group: Verb phrase"``.

Each entry calls the same ``action_*`` method as the key binding; entries of a screen appear
only while that screen is the one the palette was opened from. Whatever job the screen shows
(the Board's, History's selected row, the job detail's) gets its own entries too: cancel while
it runs, show, follow, export, re-run, delete.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from textual.dom import DOMNode

    from tuiapp.app import TuiApp

__all__ = ["COMMANDS", "JOB_COMMANDS", "JobInView", "TuiappCommands"]

COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    # (screen class name or "app", action, label, help)
    ("app", "new_job", "Jobs: New job", "Type a query and pick sources"),
    ("app", "board", "Jobs: Show Board", "Progress of the job being followed"),
    ("app", "history", "Jobs: Show history", "Every job so far"),
    ("app", "library", "Library: Search files", "Every stored file: search, preview, export"),
    ("app", "watches", "Watches: Show watches", "Topics watched, new finds only (F6)"),
    ("WatchesScreen", "add_watch", "Watches: Add a watch", "Follow a topic across sources"),
    ("WatchesScreen", "run_watch", "Watches: Run now", "Run the selected watch now"),
    ("app", "help", "Help: Show keys", "Every key and what it does"),
    ("app", "show_log", "Help: Show the log", "The last lines of tuiapp.log in the data folder"),
    ("NewJobScreen", "start_job", "New job: Start job", "Start with the ticked sources"),
    ("NewJobScreen", "focus_sources", "New job: Pick sources", "Move to the source list"),
    ("BoardScreen", "cancel_source", "Board: Cancel source", "The focused pane's source"),
    ("BoardScreen", "show_error", "Board: Show full error", "The focused pane's source"),
    ("BoardScreen", "previous_job", "Board: Previous job", "Follow the job before"),
    ("BoardScreen", "next_job", "Board: Next job", "Follow the job after"),
    ("HistoryScreen", "focus_filter", "History: Filter jobs", "Type to filter"),
    ("LibraryScreen", "export_results", "Library: Export results", "Every file found, to a folder"),
    ("JobDetailScreen", "open_asset", "Job: View file", "Preview the selected file"),
    ("JobDetailScreen", "show_error", "Job: Show full error", "Of the selected source"),
    ("AssetViewScreen", "step(1)", "File: Next file", "The job's next file"),
    ("AssetViewScreen", "step(-1)", "File: Previous file", "The job's previous file"),
)

JOB_COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (app method taking a job id, label after "Job N: ", help); "running" ones only while it runs
    ("cancel_job", "Cancel job", "Stop every source (asks first)"),
    ("show_job", "Show files and sources", "The job's detail"),
    ("follow_job", "Follow on the Board", "Show the job's panes"),
    ("export_job", "Export files", "Write the job's files into a folder"),
    ("rerun_job", "Re-run job", "Run the same query again"),
    ("delete_job", "Delete job", "Delete the job and its files (asks first)"),
)


class JobInView(Protocol):
    """A screen that shows one job (the Board's, the selected row, the detail's)."""

    def job_in_view(self) -> tuple[int, bool] | None:
        """(job id, whether it is still running), or None when no job is shown."""
        ...


def _job_commands(screen: object, app: TuiApp) -> Iterator[tuple[str, str, Callable[[], object]]]:
    finder = getattr(screen, "job_in_view", None)
    found = finder() if callable(finder) else None
    if found is None:
        return
    job_id, running = found
    screen_name = type(screen).__name__
    for method, label, help_text in JOB_COMMANDS:
        if method == "cancel_job" and not running:
            continue
        if (method, screen_name) in {
            ("show_job", "JobDetailScreen"),
            ("follow_job", "BoardScreen"),
        }:
            continue  # already there
        yield f"Job {job_id}: {label}", help_text, partial(getattr(app, method), job_id)


class TuiappCommands(Provider):
    """The app's own commands: those of the app and of the screen the palette opened on."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        screen_name = type(self.screen).__name__
        yield from _job_commands(self.screen, cast("TuiApp", self.app))
        for owner, action, label, help_text in COMMANDS:
            target: DOMNode
            if owner == "app":
                target = self.app
            elif owner == screen_name:
                target = self.screen
            else:
                continue
            yield label, help_text, partial(self._run, target, action)

    async def _run(self, target: DOMNode, action: str) -> None:
        await self.app.run_action(action, target)

    async def discover(self) -> Hits:
        for label, help_text, command in self._commands():
            yield DiscoveryHit(label, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, help_text, command in self._commands():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), command, text=label, help=help_text)
