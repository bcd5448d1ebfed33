"""Watches: the topics followed across sources, what each run found, and a dialog to add one."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Input, Label, Static

from tuiapp.errors import TuiappError
from tuiapp.screens.base import TuiModal, TuiScreen
from tuiapp.watches import describe_every
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.formatting import remote, state_style, state_words

if TYPE_CHECKING:
    from datetime import datetime

    from textual.app import ComposeResult

    from tuiapp.jobs import JobInfo
    from tuiapp.watches import WatchInfo

__all__ = ["AddWatchModal", "WatchesScreen"]

RELOAD_SECONDS = 2.0
"""How often the screen reads the watches again while it is shown (runs end in the background)."""
RUNS_SHOWN = 20


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone().strftime("%m-%d %H:%M")


def watch_state(watch: WatchInfo) -> str:
    """A watch's state in a few words: paused, on, failing (with why) or its webhook's trouble."""
    if watch.failures:
        return f"failing x{watch.failures}: {watch.last_error or ''}"
    state = "paused" if watch.paused else "on"
    return f"{state}; webhook: {watch.webhook_error}" if watch.webhook_error else state


class WatchesScreen(TuiScreen):
    """Every watch; ``a`` adds one, ``r`` runs one now, ``p`` pauses or resumes, ``d`` deletes.

    Under the list, the runs of the watch under the cursor (new and known of each); ``Enter`` on
    a run shows its job.
    """

    TITLE = "Watches"
    BINDING_GROUP_TITLE = "Watches"
    AUTO_FOCUS = "#watches"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_watch", "Add", tooltip="Watch a new topic", id="watches.add"),
        Binding(
            "r", "run_watch", "Run now", tooltip="Run the selected watch now", id="watches.run"
        ),
        Binding(
            "p",
            "pause_watch",
            "Pause/resume",
            tooltip="Stop or restart the selected watch's schedule",
            id="watches.pause",
        ),
        Binding(
            "d", "delete_watch", "Delete", tooltip="Delete the selected watch", id="watches.delete"
        ),
        Binding(
            "enter",
            "open_run",
            "Open",
            tooltip="The runs of a watch; on a run, its job",
            id="watches.open",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._watches: list[WatchInfo] = []
        self._runs: list[JobInfo] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="watches-view"):
            yield Label(
                "Watches: topics followed across sources, new finds only", id="watches-title"
            )
            yield DataTable(id="watches", cursor_type="row", zebra_stripes=True)
            yield Label("Runs of the selected watch (Enter opens one)", classes="field-label")
            yield DataTable(id="watch-runs", cursor_type="row")
            yield Static("", id="watches-empty")
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#watches", DataTable)
        table.add_columns(
            "Id", "Query", "Sources", "Every", "Last run", "Next", "New", "All", "State"
        )
        runs = self.query_one("#watch-runs", DataTable)
        runs.add_columns("Job", "Started", "State", "New", "Known")
        self.reload()
        self.set_interval(RELOAD_SECONDS, self.reload)

    @property
    def selected(self) -> WatchInfo | None:
        table = self.query_one("#watches", DataTable)
        if not self._watches or table.cursor_row < 0 or table.cursor_row >= len(self._watches):
            return None
        return self._watches[table.cursor_row]

    @work(exclusive=True, group="watches-load", exit_on_error=False, description="load watches")
    async def reload(self) -> None:
        watches = await self.engine.watches.list_watches(self.owner)
        table = self.query_one("#watches", DataTable)
        row = table.cursor_row
        self._watches = watches
        table.clear()
        for w in watches:
            table.add_row(
                str(w.id),
                remote(w.query),
                ", ".join(w.sources),
                describe_every(w.every),
                _when(w.last_run_at),
                _when(w.next_run_at),
                "-" if w.last_new is None else str(w.last_new),
                str(w.total_new),
                remote(watch_state(w)),
                key=str(w.id),
            )
        if watches:
            table.move_cursor(row=min(max(row, 0), len(watches) - 1))
        self.query_one("#watches-empty", Static).update(
            "" if watches else "No watches yet: press a to follow a topic."
        )
        await self._load_runs()

    async def _load_runs(self) -> None:
        runs_table = self.query_one("#watch-runs", DataTable)
        watch = self.selected
        jobs: list[JobInfo] = []
        if watch is not None:
            for job_id in await self.engine.watches.runs(watch.id, self.owner, RUNS_SHOWN):
                try:
                    jobs.append(await self.engine.get_job(job_id, self.owner))
                except TuiappError:
                    continue  # deleted meanwhile
        row = runs_table.cursor_row
        self._runs = jobs
        runs_table.clear()
        for job in jobs:
            runs_table.add_row(
                str(job.id),
                _when(job.started_at or job.created_at),
                Text(state_words(job.state.value), style=state_style(job.state.value)),
                str(job.stored),
                str(job.known),
                key=str(job.id),
            )
        if jobs:
            runs_table.move_cursor(row=min(max(row, 0), len(jobs) - 1))

    @on(DataTable.RowHighlighted, "#watches")
    def _watch_highlighted(self) -> None:
        self._reload_runs()

    @work(exclusive=True, group="watch-runs", exit_on_error=False, description="load runs")
    async def _reload_runs(self) -> None:
        await self._load_runs()

    def action_add_watch(self) -> None:
        def added(watch: WatchInfo | None) -> None:
            if watch is not None:
                self.notify(f"Watching {watch.query!r}: its first run is due now")
                self.reload()

        self.app.push_screen(AddWatchModal(), added)

    @on(DataTable.RowSelected, "#watches")
    def _watch_selected(self) -> None:
        self.query_one("#watch-runs", DataTable).focus()

    @on(DataTable.RowSelected, "#watch-runs")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self._runs):
            self.tui.show_job(self._runs[event.cursor_row].id)

    def action_open_run(self) -> None:
        runs_table = self.query_one("#watch-runs", DataTable)
        if self.focused is runs_table and self._runs:
            self.tui.show_job(self._runs[runs_table.cursor_row].id)
        else:
            runs_table.focus()

    def action_run_watch(self) -> None:
        if (watch := self.selected) is not None:
            self._act("run", watch)

    def action_pause_watch(self) -> None:
        if (watch := self.selected) is not None:
            self._act("resume" if watch.paused else "pause", watch)

    def action_delete_watch(self) -> None:
        from tuiapp.screens.confirm import ConfirmModal

        watch = self.selected
        if watch is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("delete", watch)

        self.app.push_screen(
            ConfirmModal(f"Delete watch {watch.id}? The jobs of its runs stay.", yes="Delete"),
            answered,
        )

    @work(group="watch-act", exit_on_error=False, description="change a watch")
    async def _act(self, what: str, watch: WatchInfo) -> None:
        watches = self.engine.watches
        try:
            if what == "run":
                job = await watches.run(watch.id, self.owner)
                self.notify(f"Watch {watch.id} runs now as job {job.id}")
            elif what == "pause":
                await watches.pause(watch.id, self.owner)
            elif what == "resume":
                await watches.resume(watch.id, self.owner)
            else:
                await watches.delete(watch.id, self.owner)
        except TuiappError as exc:
            self.notify(str(exc), title="Watch", severity="warning")
        self.reload()


class AddWatchModal(TuiModal["WatchInfo | None"]):
    """Query, sources, files per run, interval and webhook; Enter or Ctrl+S adds, Esc leaves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "add", "Add", id="add_watch.add", priority=True),
        Binding("escape", "leave", "Cancel", id="add_watch.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="add-watch-form"):
            yield Label("Watch a topic (new finds only)", classes="field-label")
            yield Input(placeholder="search words or a URL", id="watch-query")
            yield Input(
                placeholder="sources, e.g. pexels,pixabay (empty: the defaults)", id="watch-sources"
            )
            yield Input(
                "10", placeholder="new files per source and run", id="watch-count", type="integer"
            )
            yield Input("6h", placeholder="every: 30m, 6h, 1d, 1w", id="watch-every")
            yield Input(placeholder="webhook URL (optional)", id="watch-webhook")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_add()

    def action_leave(self) -> None:
        self.dismiss(None)

    def action_add(self) -> None:
        self._add()

    @work(exclusive=True, group="add-watch", exit_on_error=False, description="add a watch")
    async def _add(self) -> None:
        def value(name: str) -> str:
            return self.query_one(f"#watch-{name}", Input).value.strip()

        try:
            count = int(value("count") or "10")
        except ValueError:
            self.notify("Files per run must be a number", severity="warning")
            return
        try:
            watch = await self.engine.watches.add(
                self.owner,
                query=value("query"),
                sources=[s for s in value("sources").split(",") if s.strip()],
                count=count,
                every=value("every"),
                webhook=value("webhook") or None,
            )
        except TuiappError as exc:
            self.notify(str(exc), title="Cannot add", severity="warning")
            return
        self.dismiss(watch)
