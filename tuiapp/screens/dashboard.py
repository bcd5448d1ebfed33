"""The dashboard: one pane per source of the followed job, redrawn from the board on a timer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header

from tuiapp.screens.base import TuiScreen
from tuiapp.widgets.job_bar import JobBar
from tuiapp.widgets.source_pane import SourcePane

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.board import JobView

__all__ = ["DashboardScreen"]

REFRESH_SECONDS = 0.15
"""Panes redraw from the board at most ~7 times a second, however busy the engine is."""


class DashboardScreen(TuiScreen):
    """Follows one job; Tab moves between panes, ``c`` cancels the focused pane's source."""

    TITLE = "Dashboard"
    BINDING_GROUP_TITLE = "Dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "c",
            "cancel_source",
            "Cancel source",
            tooltip="Cancel the source of the focused pane",
            id="dashboard.cancel_source",
        ),
        Binding(
            "x",
            "cancel_job",
            "Cancel job",
            tooltip="Cancel the whole job",
            id="dashboard.cancel_job",
        ),
        Binding(
            "enter", "job_details", "Details", tooltip="Files of this job", id="dashboard.details"
        ),
        Binding("[", "previous_job", "Previous job", id="dashboard.previous", show=False),
        Binding("]", "next_job", "Next job", id="dashboard.next", show=False),
        Binding("down,j", "app.focus_next", "Next pane", show=False),
        Binding("up,k", "app.focus_previous", "Previous pane", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[int, tuple[str, ...]] | None = None
        self._panes: list[SourcePane] = []
        """The panes of the job shown (old ones may linger in the DOM while being removed)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield JobBar(id="job-bar")
        yield VerticalScroll(id="panes", can_focus=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(REFRESH_SECONDS, self.refresh_from_board)
        self.refresh_from_board()

    def on_screen_resume(self) -> None:
        self.refresh_from_board()

    @property
    def job(self) -> JobView | None:
        board = self.tui.board
        return board.jobs.get(board.current) if board.current is not None else None

    def refresh_from_board(self) -> None:
        """Bring the bar and panes up to date; panes whose source did not change do not redraw."""
        job = self.job
        bar = self.query_one(JobBar)
        panes = self.query_one("#panes", VerticalScroll)
        if job is None:
            if self._shown is not None:
                self._shown = None
                self._panes = []
                panes.remove_children()
            bar.clear()
            return
        shape = (job.id, tuple(job.sources))
        if shape != self._shown:
            self._shown = shape
            panes.remove_children()
            self._panes = [SourcePane(view) for view in job.sources.values()]
            panes.mount_all(self._panes)
            # The old panes (and maybe the focus) go once removed: focus a new one after that.
            self.call_after_refresh(self._focus_first_pane)
        else:
            for pane in self._panes:
                view = job.sources.get(pane.source_name)
                if view is not None:
                    pane.view = view
        stored, failed, size = job.totals()
        bar.show(
            job_id=job.id,
            query=job.query,
            state=job.state,
            elapsed=job.elapsed_at(self.tui.clock()),
            timeout=job.timeout,
            stored=stored,
            failed=failed,
            size=size,
        )

    def _current_panes(self) -> list[SourcePane]:
        return list(self._panes)

    def _focus_first_pane(self) -> None:
        panes = self._current_panes()
        if panes and self.focused not in panes:
            panes[0].focus()

    def action_cancel_source(self) -> None:
        pane = self.focused
        if isinstance(pane, SourcePane) and pane in self._current_panes():
            pane.action_request_cancel()
        else:
            self.notify("Move to a source pane first (Tab)", severity="warning")

    @on(SourcePane.CancelRequested)
    def _cancel_source(self, event: SourcePane.CancelRequested) -> None:
        job = self.job
        if job is not None and not job.finished:
            self._cancel(job.id, event.source)

    def action_cancel_job(self) -> None:
        job = self.job
        if job is None or job.finished:
            self.notify("No running job to cancel", severity="warning")
            return
        self._cancel(job.id, None)

    @work(group="cancel", exit_on_error=False, description="cancel a job or a source")
    async def _cancel(self, job_id: int, source: str | None) -> None:
        await self.engine.cancel(job_id, self.owner, source)
        what = f"{source} of job {job_id}" if source else f"job {job_id}"
        self.notify(f"Cancelling {what}")

    def action_job_details(self) -> None:
        job = self.job
        if job is not None:
            self.tui.show_job(job.id)

    def _step(self, delta: int) -> None:
        board = self.tui.board
        ids = list(board.jobs)
        if not ids:
            return
        index = ids.index(board.current) if board.current in ids else len(ids) - 1
        board.current = ids[max(0, min(len(ids) - 1, index + delta))]
        self.refresh_from_board()

    def action_previous_job(self) -> None:
        self._step(-1)

    def action_next_job(self) -> None:
        self._step(1)
