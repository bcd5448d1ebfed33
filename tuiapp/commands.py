"""Command palette entries for every action, labelled ``"group: Verb phrase"``.

Each entry calls the same ``action_*`` method as the key binding; entries of a screen appear
only while that screen is the one the palette was opened from.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from textual.dom import DOMNode

__all__ = ["COMMANDS", "TuiappCommands"]

COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    # (screen class name or "app", action, label, help)
    ("app", "new_job", "Jobs: New job", "Type a query and pick sources"),
    ("app", "dashboard", "Jobs: Show dashboard", "Progress of the job being followed"),
    ("app", "history", "Jobs: Show history", "Every job so far"),
    ("app", "help", "Help: Show keys", "Every key and what it does"),
    ("NewJobScreen", "start_job", "New job: Start job", "Start with the ticked sources"),
    ("NewJobScreen", "focus_sources", "New job: Pick sources", "Move to the source list"),
    ("DashboardScreen", "cancel_source", "Dashboard: Cancel source", "The focused pane's source"),
    ("DashboardScreen", "cancel_job", "Dashboard: Cancel job", "Stop every source of the job"),
    ("DashboardScreen", "job_details", "Dashboard: Show job files", "Files of this job"),
    ("DashboardScreen", "previous_job", "Dashboard: Previous job", "Follow the job before"),
    ("DashboardScreen", "next_job", "Dashboard: Next job", "Follow the job after"),
    ("HistoryScreen", "job_details", "History: Show job files", "Files of the selected job"),
    ("HistoryScreen", "rerun_job", "History: Re-run job", "Run the selected job again"),
    ("HistoryScreen", "delete_job", "History: Delete job", "Delete the selected job"),
    ("HistoryScreen", "focus_filter", "History: Filter jobs", "Type to filter"),
    ("JobDetailScreen", "open_asset", "Job: View file", "Preview the selected file"),
    ("JobDetailScreen", "export_job", "Job: Export files", "Write the files into a folder"),
    ("JobDetailScreen", "watch_job", "Job: Follow on dashboard", "Show this job's panes"),
    ("JobDetailScreen", "rerun_job", "Job: Re-run job", "Run this job again"),
    ("JobDetailScreen", "delete_job", "Job: Delete job", "Delete this job and its files"),
    ("AssetViewScreen", "step(1)", "File: Next file", "The job's next file"),
    ("AssetViewScreen", "step(-1)", "File: Previous file", "The job's previous file"),
)


class TuiappCommands(Provider):
    """The app's own commands: those of the app and of the screen the palette opened on."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        screen_name = type(self.screen).__name__
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
