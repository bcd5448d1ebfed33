"""History: every job of the acting user in a table, filtered as you type, updated live."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Input, Static

from tuiapp.screens.base import TuiScreen
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.formatting import human_bytes, remote, short_list, state_style, state_words
from tuiapp.widgets.tables import KeyTable

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.jobs import JobInfo

__all__ = ["HistoryScreen", "history_layout"]

HISTORY_LIMIT = 1000
"""Jobs loaded into the table (newest first); a filter asks the engine, so older jobs are found."""
FILTER_PAUSE = 0.2
"""Seconds of no typing before the engine is asked for the filter's jobs."""
RELOAD_SECONDS = 0.4
"""A burst of job changes reloads the table at most this often."""
POLL_SECONDS = 3.0
"""The table is read again from the database this often while in view: jobs of another window
or of `tuiapp get` change there, and this app hears no events of theirs."""

_COLUMNS = (
    ("Job", "id"),
    ("Query", "query"),
    ("State", "state"),
    ("Files", "stored"),
    ("Size", "size"),
    ("Sources", "sources"),
    ("When", "when"),
)
_FIXED = {"id": 4, "stored": 5, "size": 8}
WIDE = 100
"""From this many columns on, "When" shows date and time; below it, the date only."""
_CELL_PADDING = 2
"""A DataTable pads each cell by one column on either side."""
_SCROLLBAR = 2


def history_layout(jobs: list[JobInfo], width: int) -> list[int]:
    """Column widths for ``width`` cells: the query takes the spare room, sources what is left.

    The query comes second and is given its whole length first when it fits; the sources
    column is shortened (``picsum,robohash +2``) to what remains, never below 8 cells.
    """
    state = max([5, *(len(state_words(j.state.value)) for j in jobs)])
    when = 11 if width >= WIDE else 5
    fixed = sum(_FIXED.values()) + when + state + _CELL_PADDING * len(_COLUMNS) + _SCROLLBAR
    room = max(18, width - fixed)
    longest_query = max([5, *(len(j.query) for j in jobs)])
    longest_sources = max([7, *(len(",".join(s.source for s in j.sources)) for j in jobs)])
    # The query first (its whole length when it fits beside 8 cells of sources), then sources.
    query = min(longest_query, room - 8)
    sources = max(8, min(longest_sources, room - query))
    query = max(query, room - sources)
    return [_FIXED["id"], query, state, _FIXED["stored"], _FIXED["size"], sources, when]


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
        Binding(
            "escape",
            "focus_table",
            "Back to jobs",
            tooltip="Leave the filter, back to the list of jobs",
            show=False,
            id="history.table",
        ),
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
        table: DataTable[str | Text] = KeyTable(id="jobs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="no-jobs")
        yield table
        yield AppFooter()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#jobs", DataTable)

    def on_mount(self) -> None:
        self.tui.jobs_changed.subscribe(self, self._job_changed)
        self.set_interval(RELOAD_SECONDS, self._reload_if_stale)
        self.set_interval(POLL_SECONDS, self._poll)
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def _job_changed(self, job_id: int) -> None:
        self._stale = True

    def _reload_if_stale(self) -> None:
        if self._stale and self.is_current:
            self._stale = False
            self.reload()

    def _poll(self) -> None:
        if self.is_current:
            self.reload(changed_only=True)

    @work(exclusive=True, group="history", exit_on_error=False, description="load jobs")
    async def reload(self, pause: float = 0.0, *, changed_only: bool = False) -> None:
        """Read the jobs again; with ``changed_only`` the table is redrawn only if they changed
        (a poll keeps the cursor and the scroll where the user left them)."""
        if pause:
            await asyncio.sleep(pause)  # a newer keystroke cancels this worker (exclusive)
        words = self.query_one("#filter", Input).value.strip()
        jobs = await self.engine.list_jobs(self.owner, text=words or None, limit=HISTORY_LIMIT)
        if changed_only and jobs == self._jobs:
            return
        self._jobs = jobs
        self._fill()

    @property
    def visible_jobs(self) -> list[JobInfo]:
        words = self.query_one("#filter", Input).value
        return [job for job in self._jobs if job_matches(job, words)]

    def on_resize(self) -> None:
        self._fill()

    def _fill(self) -> None:
        table = self.table
        selected = self.selected_job_id
        jobs = self.visible_jobs
        layout = history_layout(jobs, table.size.width or self.size.width)
        table.clear(columns=True)
        for (label, key), width in zip(_COLUMNS, layout, strict=True):
            table.add_column(label, key=key, width=width)
        sources_width = layout[-2]
        when_format = "%m-%d %H:%M" if layout[-1] > 5 else "%m-%d"
        for job in jobs:
            names = [s.source for s in job.sources]
            table.add_row(
                str(job.id),
                remote(job.query),
                Text(state_words(job.state.value), style=state_style(job.state.value)),
                str(job.stored),
                human_bytes(job.bytes),
                short_list(names, sources_width),
                job.created_at.astimezone().strftime(when_format),
                key=str(job.id),
            )
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)), animate=False)
        empty = self.query_one("#no-jobs", Static)
        words = self.query_one("#filter", Input).value.strip()
        if jobs:
            empty.update("")
        elif words:
            empty.update(remote(f"No jobs match “{words}”: clear the filter to see every job."))
        else:
            empty.update("No jobs yet: press F2 to start one.")
        empty.set_class(not jobs, "-shown")

    @property
    def selected_job_id(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value) if key.value is not None else None

    def job_in_view(self) -> tuple[int, bool] | None:
        job_id = self.selected_job_id
        job = next((j for j in self._jobs if j.id == job_id), None)
        return None if job is None else (job.id, not job.state.finished)

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
