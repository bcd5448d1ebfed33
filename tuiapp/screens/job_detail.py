"""One job: its sources and what each stored, with every file's size, dimensions and licence."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Static

from tuiapp.errors import NotFoundError, error_cause, error_label
from tuiapp.screens.asset_view import AssetViewScreen
from tuiapp.screens.base import TuiScreen
from tuiapp.screens.error import ErrorModal
from tuiapp.text import printable
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.formatting import dimensions, human_bytes, remote, state_style, state_words
from tuiapp.widgets.tables import KeyTable

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.jobs import AssetInfo, JobInfo, JobSourceInfo

__all__ = ["JobDetailScreen", "job_summary", "source_row"]

ASSET_LIMIT = 5000


def job_summary(job: JobInfo) -> Text:
    """Two or three lines: the job, its state and totals; when it ran; the job's own error."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"Job {job.id} ", style="bold")
    text.append(f"“{printable(job.query)}”  ")
    text.append(state_words(job.state.value), style=state_style(job.state.value) or "bold")
    text.append(
        f"  {job.stored} stored  {job.failed} failed  {human_bytes(job.bytes)}"
        f"  {job.count} per source"
    )
    when = job.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    text.append(f"\nCreated {when}")
    if job.started_at and job.finished_at:
        text.append(f", ran {(job.finished_at - job.started_at).total_seconds():.1f} s")
    if job.rerun_of:
        text.append(f", re-run of job {job.rerun_of}")
    if job.error:
        text.append(f"\n{printable(error_cause(job.error))}", style="red")
    return text


_SOURCE_COLUMNS = (
    ("Source", "source"),
    ("State", "state"),
    ("Stored/found", "counts"),
    ("Size", "size"),
    ("Dups", "duplicates"),  # near-duplicates of another source's files
    ("Error", "label"),
    ("Cause", "cause"),
)


def source_widths(job: JobInfo, width: int) -> list[int]:
    """Column widths of the sources table: the cause takes what is left of ``width`` (it is
    cut there; Enter shows the whole error), so the table never scrolls sideways."""
    rows = [source_row(s) for s in job.sources]
    fixed = [
        max([len(label), *(len(str(row[i])) for row in rows)])
        for i, (label, _) in enumerate(_SOURCE_COLUMNS[:-1])
    ]
    cause = max(10, width - sum(fixed) - 2 * len(_SOURCE_COLUMNS) - 2)
    return [*fixed, cause]


def source_row(source: JobSourceInfo) -> tuple[str | Text, ...]:
    """One row of the sources table: name, state, stored/found, bytes, near-duplicates of other
    sources' files, error label and cause."""
    state = source.state.value
    failed = bool(source.error) or source.state.failed
    return (
        source.source,
        Text(state_words(state), style=state_style(state)),
        f"{source.stored}/{source.found}",
        human_bytes(source.bytes),
        str(source.duplicates) if source.duplicates else "",
        Text(error_label(source.error_code, state), style="bold red") if failed else Text(""),
        remote(error_cause(source.error), style="red"),
    )


class JobDetailScreen(TuiScreen):
    """Enter opens a file; ``e`` exports every file of the job into a folder."""

    TITLE = "Job"
    BINDING_GROUP_TITLE = "Job"
    AUTO_FOCUS = "#assets"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="job.back"),
        Binding(
            "enter",
            "open",
            "Open",
            tooltip="Preview the file, or the full error of the source",
            id="job.open",
        ),
        Binding(
            "tab",
            "app.focus_next",
            "Switch",
            tooltip="Move between the sources table and the files table",
            key_display="Tab",
            id="job.switch",
        ),
        Binding(
            "e", "export_job", "Export", tooltip="Write the files into a folder", id="job.export"
        ),
        Binding(
            "w",
            "watch_job",
            "Follow",
            tooltip="Follow this job on the Board",
            id="job.watch",
        ),
        Binding(
            "u",
            "toggle_duplicates",
            "Dups",
            tooltip="Hide or show files that are near-duplicates of a better copy",
            id="job.duplicates",
        ),
        Binding("r", "rerun_job", "Re-run", tooltip="Run this job again", id="job.rerun"),
        Binding(
            "d", "delete_job", "Delete", tooltip="Delete this job and its files", id="job.delete"
        ),
    ]

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.job: JobInfo | None = None
        self.assets: list[AssetInfo] = []
        self.hide_duplicates = False
        """Files that are near-duplicates of a better copy are left out of the table."""
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="job-summary")
        sources: DataTable[str | Text] = KeyTable(id="job-sources", cursor_type="row")
        yield sources
        table: DataTable[str | Text] = KeyTable(id="assets", cursor_type="row", zebra_stripes=True)
        yield table
        yield AppFooter()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#assets", DataTable)

    @property
    def sources_table(self) -> DataTable[str | Text]:
        return self.query_one("#job-sources", DataTable)

    def on_resize(self) -> None:
        if self.job is not None:
            self.reload()

    def on_mount(self) -> None:
        self.sub_title = f"job {self.job_id}"
        for label, key, width in (
            ("ID", "id", 5),
            ("Source", "source", None),
            ("Size", "size", 9),
            ("Size px", "dims", 9),
            ("Title", "title", None),
            ("Author", "author", None),
            ("Licence", "license", None),
        ):
            self.table.add_column(label, key=key, width=width)
        self.tui.jobs_changed.subscribe(self, self._job_changed)
        self.set_interval(0.5, self._reload_if_stale)
        self.reload()

    def _job_changed(self, job_id: int) -> None:
        if job_id == self.job_id:
            self._stale = True

    def _reload_if_stale(self) -> None:
        if self._stale and self.is_current:
            self._stale = False
            self.reload()

    @work(exclusive=True, group="job-detail", exit_on_error=False, description="load a job")
    async def reload(self) -> None:
        try:
            self.job = await self.engine.get_job(self.job_id, self.owner)
        except NotFoundError:
            self.notify(f"Job {self.job_id} is gone", severity="warning")
            self.dismiss()
            return
        self.assets = await self.engine.list_assets(
            self.owner, job_id=self.job_id, unique=self.hide_duplicates, limit=ASSET_LIMIT
        )
        self.query_one("#job-summary", Static).update(job_summary(self.job))
        sources = self.sources_table
        source_cursor = sources.cursor_row
        sources.clear(columns=True)
        widths = source_widths(self.job, sources.size.width or self.size.width)
        for (label, key), width in zip(_SOURCE_COLUMNS, widths, strict=True):
            sources.add_column(label, key=key, width=width)
        for source in self.job.sources:
            sources.add_row(*source_row(source), key=source.source)
        if self.job.sources:
            sources.move_cursor(row=min(source_cursor, len(self.job.sources) - 1), animate=False)
        table = self.table
        row = table.cursor_row
        table.clear()
        for a in self.assets:
            table.add_row(
                str(a.id),
                a.source,
                human_bytes(a.size),
                dimensions(a.width, a.height),
                remote(a.title)
                if a.duplicate_of is None
                else Text.assemble((f"dup of #{a.duplicate_of} ", "dim"), remote(a.title)),
                remote(a.author),
                remote(a.license),
                key=str(a.id),
            )
        if self.assets:
            table.move_cursor(row=min(row, len(self.assets) - 1), animate=False)

    @on(DataTable.RowSelected, "#assets")
    def _row_selected(self) -> None:
        self.action_open_asset()

    @on(DataTable.RowSelected, "#job-sources")
    def _source_selected(self) -> None:
        self.action_show_error()

    def action_open(self) -> None:
        if self.focused is self.sources_table:
            self.action_show_error()
        else:
            self.action_open_asset()

    def action_show_error(self) -> None:
        """The full error of the source under the cursor of the sources table."""
        if self.job is None or not self.job.sources:
            return
        index = min(self.sources_table.cursor_row, len(self.job.sources) - 1)
        source = self.job.sources[index]
        if not source.error:
            self.notify(f"{source.source} has no error", severity="information")
            return
        label = error_label(source.error_code, source.state.value)
        self.app.push_screen(ErrorModal(f"{source.source}: {label}", source.error))

    def action_open_asset(self) -> None:
        if not self.assets:
            self.notify("This job has no files", severity="warning")
            return
        ids = [a.id for a in self.assets]
        self.app.push_screen(AssetViewScreen(ids, self.table.cursor_row))

    def job_in_view(self) -> tuple[int, bool] | None:
        running = self.job is not None and not self.job.state.finished
        return (self.job_id, running)

    def action_back(self) -> None:
        self.dismiss()

    def action_export_job(self) -> None:
        self.tui.export_job(self.job_id)

    def action_watch_job(self) -> None:
        self.tui.follow_job(self.job_id)

    def action_toggle_duplicates(self) -> None:
        self.hide_duplicates = not self.hide_duplicates
        self.notify("Duplicates hidden" if self.hide_duplicates else "Duplicates shown")
        self.reload()

    def action_rerun_job(self) -> None:
        self.tui.rerun_job(self.job_id)

    def action_delete_job(self) -> None:
        self.tui.delete_job(self.job_id)
