"""One job: its sources and what each stored, with every file's size, dimensions and licence."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from tuiapp.errors import NotFoundError
from tuiapp.screens.asset_view import AssetViewScreen
from tuiapp.screens.base import TuiScreen
from tuiapp.text import printable
from tuiapp.widgets.formatting import dimensions, human_bytes, remote, state_words

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.jobs import AssetInfo, JobInfo

__all__ = ["JobDetailScreen", "job_summary"]

ASSET_LIMIT = 5000


def job_summary(job: JobInfo) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"Job {job.id} ", style="bold")
    text.append(f"“{printable(job.query)}”  ")
    text.append(state_words(job.state.value), style="bold")
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
        text.append(f"\n{printable(job.error)}", style="red")
    for s in job.sources:
        text.append(f"\n  {s.source:<14} {state_words(s.state.value):<11}")
        text.append(f" {s.stored} stored  {s.failed} failed  {human_bytes(s.bytes)}")
        if s.error:
            text.append(f"  {printable(s.error)}", style="red")
    return text


class JobDetailScreen(TuiScreen):
    """Enter opens a file; ``e`` exports every file of the job into a folder."""

    TITLE = "Job"
    BINDING_GROUP_TITLE = "Job"
    AUTO_FOCUS = "#assets"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="job.back"),
        Binding("enter", "open_asset", "View file", tooltip="Preview and details", id="job.open"),
        Binding(
            "e", "export_job", "Export", tooltip="Write the files into a folder", id="job.export"
        ),
        Binding(
            "w",
            "watch_job",
            "Follow",
            tooltip="Follow this job on the dashboard",
            id="job.watch",
        ),
        Binding("r", "rerun_job", "Re-run", id="job.rerun"),
        Binding("d", "delete_job", "Delete", id="job.delete"),
    ]

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.job: JobInfo | None = None
        self.assets: list[AssetInfo] = []
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="job-summary")
        table: DataTable[str | Text] = DataTable(id="assets", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#assets", DataTable)

    def on_mount(self) -> None:
        self.sub_title = f"job {self.job_id}"
        for label, key, width in (
            ("ID", "id", 5),
            ("Source", "source", 10),
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
            self.owner, job_id=self.job_id, limit=ASSET_LIMIT
        )
        self.query_one("#job-summary", Static).update(job_summary(self.job))
        table = self.table
        row = table.cursor_row
        table.clear()
        for a in self.assets:
            table.add_row(
                str(a.id),
                a.source,
                human_bytes(a.size),
                dimensions(a.width, a.height),
                remote(a.title),
                remote(a.author),
                remote(a.license),
                key=str(a.id),
            )
        if self.assets:
            table.move_cursor(row=min(row, len(self.assets) - 1), animate=False)

    @on(DataTable.RowSelected, "#assets")
    def _row_selected(self) -> None:
        self.action_open_asset()

    def action_open_asset(self) -> None:
        if not self.assets:
            self.notify("This job has no files", severity="warning")
            return
        ids = [a.id for a in self.assets]
        self.app.push_screen(AssetViewScreen(ids, self.table.cursor_row))

    def action_back(self) -> None:
        self.dismiss()

    def action_export_job(self) -> None:
        self.tui.export_job(self.job_id)

    def action_watch_job(self) -> None:
        self.tui.follow_job(self.job_id)

    def action_rerun_job(self) -> None:
        self.tui.rerun_job(self.job_id)

    def action_delete_job(self) -> None:
        self.tui.delete_job(self.job_id)
