"""History: every job of the acting user in a table, filtered as you type, updated live."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input

from tuiapp.jobs import JobState
from tuiapp.screens.base import TuiScreen
from tuiapp.widgets.formatting import human_bytes, remote, state_words

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.jobs import JobInfo

__all__ = ["HistoryScreen"]

HISTORY_LIMIT = 1000
"""Jobs loaded into the table (newest first); a filter asks the engine, so older jobs are found."""
FILTER_PAUSE = 0.2
"""Seconds of no typing before the engine is asked for the filter's jobs."""
RELOAD_SECONDS = 0.4
"""A burst of job changes reloads the table at most this often."""

_STATE_STYLES = {
    JobState.DONE: "green",
    JobState.RUNNING: "bold",
    JobState.FAILED: "red",
    JobState.TIMED_OUT: "red",
    JobState.INTERRUPTED: "red",
    JobState.CANCELLED: "yellow",
}


def job_matches(job: JobInfo, words: str) -> bool:
    """Whether every word appears in the job's query, state or a source's name, or is its id.

    The engine's ``list_jobs(text=...)`` filters by the same rule; this one narrows the rows
    already shown while the engine is asked.
    """
    haystack = " ".join([job.query, job.state.value, *(s.source for s in job.sources)]).lower()
    return all(word in haystack or word == str(job.id) for word in words.lower().split())


class HistoryScreen(TuiScreen):
    """Jobs newest first; type to filter, Enter for details, ``r`` re-runs, ``d`` deletes."""

    TITLE = "History"
    BINDING_GROUP_TITLE = "History"
    AUTO_FOCUS = "#jobs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "job_details",
            "Details",
            tooltip="Files of the selected job",
            id="history.details",
        ),
        Binding(
            "r", "rerun_job", "Re-run", tooltip="Run the selected job again", id="history.rerun"
        ),
        Binding(
            "d",
            "delete_job",
            "Delete",
            tooltip="Delete the selected job and its files",
            id="history.delete",
        ),
        Binding(
            "slash", "focus_filter", "Filter", tooltip="Type to filter jobs", id="history.filter"
        ),
        Binding("escape", "focus_table", "Table", show=False, id="history.table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._jobs: list[JobInfo] = []
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="Filter: words of the query, a source, a state (/ to focus)", id="filter"
        )
        table: DataTable[str | Text] = DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#jobs", DataTable)

    def on_mount(self) -> None:
        self.table.add_column("Job", key="id", width=5)
        self.table.add_column("When", key="when", width=11)
        self.table.add_column("State", key="state", width=10)
        self.table.add_column("Stored", key="stored", width=6)
        self.table.add_column("Size", key="size", width=9)
        self.table.add_column("Sources", key="sources")
        self.table.add_column("Query", key="query")
        self.tui.jobs_changed.subscribe(self, self._job_changed)
        self.set_interval(RELOAD_SECONDS, self._reload_if_stale)
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def _job_changed(self, job_id: int) -> None:
        self._stale = True

    def _reload_if_stale(self) -> None:
        if self._stale and self.is_current:
            self._stale = False
            self.reload()

    @work(exclusive=True, group="history", exit_on_error=False, description="load jobs")
    async def reload(self, pause: float = 0.0) -> None:
        if pause:
            await asyncio.sleep(pause)  # a newer keystroke cancels this worker (exclusive)
        words = self.query_one("#filter", Input).value.strip()
        self._jobs = await self.engine.list_jobs(
            self.owner, text=words or None, limit=HISTORY_LIMIT
        )
        self._fill()

    @property
    def visible_jobs(self) -> list[JobInfo]:
        words = self.query_one("#filter", Input).value
        return [job for job in self._jobs if job_matches(job, words)]

    def _fill(self) -> None:
        table = self.table
        selected = self.selected_job_id
        table.clear()
        for job in self.visible_jobs:
            style = _STATE_STYLES.get(job.state, "")
            table.add_row(
                str(job.id),
                job.created_at.astimezone().strftime("%m-%d %H:%M"),
                Text(state_words(job.state.value), style=style),
                str(job.stored),
                human_bytes(job.bytes),
                ",".join(s.source for s in job.sources),
                remote(job.query),
                key=str(job.id),
            )
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)), animate=False)

    @property
    def selected_job_id(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self._fill()
        self.reload(FILTER_PAUSE)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    @on(DataTable.RowSelected, "#jobs")
    def _row_selected(self) -> None:
        self.action_job_details()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    def _selected_or_warn(self) -> int | None:
        job_id = self.selected_job_id
        if job_id is None:
            self.notify("No job selected", severity="warning")
        return job_id

    def action_job_details(self) -> None:
        job_id = self._selected_or_warn()
        if job_id is not None:
            self.tui.show_job(job_id)

    def action_rerun_job(self) -> None:
        job_id = self._selected_or_warn()
        if job_id is not None:
            self.tui.rerun_job(job_id)

    def action_delete_job(self) -> None:
        job_id = self._selected_or_warn()
        if job_id is not None:
            self.tui.delete_job(job_id)
