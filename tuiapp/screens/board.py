"""The board: one pane per source of the followed job, redrawn from the board on a timer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header

from tuiapp.errors import error_label
from tuiapp.screens.base import TuiScreen
from tuiapp.screens.error import ErrorModal
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.job_bar import JobBar, job_progress, only_found
from tuiapp.widgets.source_pane import SourcePane

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.events import JobView

__all__ = ["BoardScreen", "grid_columns", "grid_neighbour"]

REFRESH_SECONDS = 0.15
"""Panes redraw from the board at most ~7 times a second, however busy the engine is."""
WIDE = 110
"""From this many columns on, three panes side by side; below it, two."""


def grid_columns(panes: int, width: int) -> int:
    """Panes per row: as many as fit (two, three from :data:`WIDE` columns), but never more than
    there are, so one or two sources use the whole width."""
    return max(1, min(panes, 3 if width >= WIDE else 2))


def grid_neighbour(index: int, count: int, columns: int, *, dx: int, dy: int) -> int:
    """The index of the cell next to ``index`` in a grid filled row by row (or ``index``).

    Down from a row above a shorter last row lands on the last cell, as the eye expects.
    """
    columns = max(1, columns)
    row, col = divmod(index, columns)
    if dx:
        target = index + dx
        if 0 <= col + dx < columns and 0 <= target < count:
            return target
        return index
    target = index + dy * columns
    if 0 <= target < count:
        return target
    last_row = (count - 1) // columns
    if dy > 0 and row < last_row:
        return count - 1
    return index


def _columns(panes: list[SourcePane]) -> int:
    """How many panes the grid shows per row (from where they are laid out)."""
    first = panes[0].virtual_region.y
    return max(1, sum(1 for p in panes if p.virtual_region.y == first))


class BoardScreen(TuiScreen):
    """Follows one job; arrows move between panes, ``c`` cancels the focused pane's source."""

    TITLE = "Board"
    BINDING_GROUP_TITLE = "Board"
    BINDINGS: ClassVar[list[BindingType]] = [
        # The app's F5 (Library), kept out of this footer: it is full at 80 columns.
        Binding("f5", "app.to_library", "Library", show=False, id="board.library"),
        Binding(
            "c",
            "cancel_source",
            "Cancel src",
            tooltip="Cancel the source of the focused pane",
            id="board.cancel_source",
        ),
        Binding(
            "x",
            "cancel_job",
            "Cancel job",
            tooltip="Cancel the whole job (asks first)",
            id="board.cancel_job",
        ),
        Binding(
            "v",
            "show_error",
            "Error",
            tooltip="The full error of the focused pane's source",
            id="board.error",
            show=False,  # each failed pane says "v: full error"; the footer has no room
        ),
        Binding(
            "enter",
            "job_details",
            "Files",
            tooltip="Files and sources of this job",
            id="board.details",
        ),
        # Priority: the pane grid scrolls, and a scroll container would take the arrows.
        # One footer entry stands for the four arrows, one for [ and ].
        Binding(
            "left",
            "move(-1, 0)",
            "Move",
            tooltip="Move to the pane left, right, above or below (arrows)",
            key_display="←↑↓→",
            priority=True,
            id="board.left",
        ),
        Binding("right", "move(1, 0)", "Pane right", show=False, priority=True, id="board.right"),
        Binding("up", "move(0, -1)", "Pane above", show=False, priority=True, id="board.up"),
        Binding("down", "move(0, 1)", "Pane below", show=False, priority=True, id="board.down"),
        Binding(
            "[",
            "previous_job",
            "Job",
            tooltip="Follow the job before ([) or after (])",
            key_display="[ ]",
            id="board.previous",
        ),
        Binding("]", "next_job", "Follow the next job", show=False, id="board.next"),
        Binding("n", "app.new_job", "Start a new job", id="board.new", show=False),
        Binding("j", "app.focus_next", "Next pane", show=False),
        Binding("k", "app.focus_previous", "Previous pane", show=False),
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
        yield AppFooter()

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
            self._fit_grid()
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
            target=job.count * len(job.sources),
            failed=failed,
            size=size,
            progress=job_progress(job),
            only_found=only_found(job),
        )

    def _fit_grid(self) -> None:
        columns = grid_columns(len(self._panes), self.app.size.width)
        grid = self.query_one("#panes", VerticalScroll)
        if grid.styles.grid_size_columns != columns:
            grid.styles.grid_size_columns = columns

    def on_resize(self) -> None:
        self._fit_grid()

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
            self.tui.cancel_source(job.id, event.source)

    def action_cancel_job(self) -> None:
        job = self.job
        if job is None or job.finished:
            self.notify("No running job to cancel", severity="warning")
            return
        self.tui.cancel_job(job.id)

    def action_show_error(self) -> None:
        pane = self.focused
        view = pane.view if isinstance(pane, SourcePane) else None
        if view is None:
            self.notify("Move to a source pane first (arrows)", severity="warning")
            return
        text = view.error or view.last_item_error
        if not text:
            self.notify(f"{view.name} has no error", severity="information")
            return
        label = error_label(view.error_code, view.state) if view.error else "a file failed"
        self.app.push_screen(ErrorModal(f"{view.name}: {label}", text))

    def action_move(self, dx: int, dy: int) -> None:
        """Focus the pane left, right, above or below the focused one, as the grid shows them."""
        panes = self._current_panes()
        if not panes:
            return
        focused = self.focused
        if not isinstance(focused, SourcePane) or focused not in panes:
            panes[0].focus()
            return
        index = grid_neighbour(panes.index(focused), len(panes), _columns(panes), dx=dx, dy=dy)
        panes[index].focus()

    def job_in_view(self) -> tuple[int, bool] | None:
        job = self.job
        return None if job is None else (job.id, not job.finished)

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
