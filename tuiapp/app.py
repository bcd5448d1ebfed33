"""The Textual app: modes, app-wide keys and commands, and the actions screens share.

The app owns no engine logic and builds nothing: ``tuiapp.cli`` starts the engine (and the HTTP
API) and hands them in. It applies engine events to its :class:`~tuiapp.board.Board`, tells
screens when jobs change (``jobs_changed``), and shows toasts whose text is never markup.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from tuiapp import events as ev
from tuiapp.board import Board
from tuiapp.bridge import start_bridge
from tuiapp.commands import TuiappCommands
from tuiapp.errors import TuiappError
from tuiapp.messages import EngineEvent, EventsLost
from tuiapp.screens import (
    ConfirmModal,
    DashboardScreen,
    ExportModal,
    HelpModal,
    HistoryScreen,
    JobDetailScreen,
    NewJobScreen,
)
from tuiapp.text import printable
from tuiapp.widgets.formatting import human_bytes, state_words

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.notifications import SeverityLevel

    from tuiapp.client import EngineClient

__all__ = ["TuiApp"]

log = logging.getLogger(__name__)


class TuiApp(App[None]):
    """The full-screen app. Give it a started engine; it never starts or closes the engine."""

    TITLE = "tuiapp"
    CSS_PATH = "app.tcss"
    BINDING_GROUP_TITLE = "tuiapp"
    MODES: ClassVar[dict[str, Any]] = {
        "new": NewJobScreen,
        "dashboard": DashboardScreen,
        "history": HistoryScreen,
    }
    COMMANDS = App.COMMANDS | {TuiappCommands}
    # Textual declares this without ClassVar (mypy rejects a ClassVar override): RUF012 is moot.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (110, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", tooltip="Every key, and what it does", id="app.help"),
        Binding("f2", "new_job", "New", tooltip="Start a new job", id="app.new_job"),
        Binding("f3", "dashboard", "Board", tooltip="Progress of the job", id="app.dashboard"),
        Binding("f4", "history", "History", tooltip="Every job so far", id="app.history"),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            tooltip="Leave (running jobs are cancelled)",
            id="app.quit",
            show=False,
            priority=True,
        ),
    ]

    def __init__(
        self,
        engine: EngineClient,
        *,
        owner: int | None = None,
        user_name: str | None = None,
        api_url: str | None = None,
        api_error: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Args:
        engine: a started engine (or a fake with the same methods).
        owner: the acting user's id; None for guest.
        user_name: shown in the header.
        api_url: where the embedded HTTP API listens, to show; None when it is not running.
        api_error: why the HTTP API did not start, to show.
        clock: wall-clock seconds; tests freeze it so elapsed times are stable.
        """
        super().__init__()
        self.engine = engine
        self.owner = owner
        self.user_name = user_name
        self.api_url = api_url
        self.api_error = api_error
        self.clock = clock
        self.board = Board(default_timeout=engine.settings.global_job_timeout)
        self.jobs_changed: Signal[int] = Signal(self, "jobs-changed")
        """Published with a job id when a job was added, started, stored a file, ended or went."""

    def on_mount(self) -> None:
        who = f"as {self.user_name}" if self.user_name else "as guest"
        api = f"API {self.api_url}" if self.api_url else "API off"
        self.sub_title = f"{who} · {api}"
        start_bridge(self, self.engine, self.owner)
        self.switch_mode("new")
        if self.api_error:
            self.notify(self.api_error, title="HTTP API not started", severity="error", timeout=15)

    # --- engine events (posted by the bridge) -------------------------------------------------

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if self.board.apply(event):
            self.jobs_changed.publish(event.job_id)
        match event:
            case ev.JobSubmitted():
                board = self.board
                current = board.jobs.get(board.current) if board.current is not None else None
                if current is None or current.finished:
                    board.current = event.job_id  # an idle dashboard follows the newest job
            case ev.JobFinished():
                why = f": {event.error}" if event.error else ""
                self.notify(
                    f"{event.stored} stored, {event.failed} failed,"
                    f" {human_bytes(event.bytes)} in {event.elapsed:.1f} s{why}",
                    title=f"Job {event.job_id} {state_words(event.state)}",
                    severity="information" if event.state == "done" else "warning",
                )

    @on(EventsLost)
    def _events_lost(self) -> None:
        self._resync()

    @work(exclusive=True, group="resync", exit_on_error=False, description="reload live jobs")
    async def _resync(self) -> None:
        for job_id, view in list(self.board.jobs.items()):
            if not view.finished:
                self.board.load(await self.engine.get_job(job_id, self.owner))
                self.jobs_changed.publish(job_id)

    # --- shared actions -----------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            return
        sections: list[tuple[str, list[BindingType]]] = [
            ("Everywhere", list(self.BINDINGS)),
            *(
                (screen.BINDING_GROUP_TITLE or screen.__name__, list(screen.BINDINGS))
                for screen in (
                    NewJobScreen,
                    DashboardScreen,
                    HistoryScreen,
                    JobDetailScreen,
                )
            ),
        ]
        from tuiapp.screens import AssetViewScreen

        sections.append(
            (AssetViewScreen.BINDING_GROUP_TITLE or "File", list(AssetViewScreen.BINDINGS))
        )
        self.push_screen(HelpModal(sections))

    def _to_mode(self, mode: str) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_new_job(self) -> None:
        self._to_mode("new")

    def action_dashboard(self) -> None:
        self._to_mode("dashboard")

    def action_history(self) -> None:
        self._to_mode("history")

    def follow_job(self, job_id: int) -> None:
        """Show ``job_id`` on the dashboard (loading it from the engine if the board lacks it)."""
        self._follow(job_id)

    @work(exclusive=True, group="follow", exit_on_error=False, description="follow a job")
    async def _follow(self, job_id: int) -> None:
        if job_id not in self.board.jobs:
            self.board.load(await self.engine.get_job(job_id, self.owner))
        self.board.current = job_id
        self._to_mode("dashboard")

    def show_job(self, job_id: int) -> None:
        self.push_screen(JobDetailScreen(job_id))

    def rerun_job(self, job_id: int) -> None:
        self._rerun(job_id)

    @work(group="rerun", exit_on_error=False, description="re-run a job")
    async def _rerun(self, job_id: int) -> None:
        job = await self.engine.rerun(job_id, self.owner)
        self.notify(f"Job {job.id} started (a re-run of job {job_id})")
        self.follow_job(job.id)

    def delete_job(self, job_id: int) -> None:
        """Ask, then delete the job, its assets and the blobs nothing else uses."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(job_id)

        self.push_screen(
            ConfirmModal(f"Delete job {job_id} and all its files?", yes="Delete"), answered
        )

    @work(group="delete", exit_on_error=False, description="delete a job")
    async def _delete(self, job_id: int) -> None:
        await self.engine.delete_job(job_id, self.owner)
        screen = self.screen
        if isinstance(screen, JobDetailScreen) and screen.job_id == job_id:
            screen.dismiss()
        self.notify(f"Job {job_id} deleted")

    def export_job(self, job_id: int) -> None:
        """Ask for a folder, then write the job's files into it."""

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self._export(job_id, folder)

        self.push_screen(ExportModal(job_id, Path.cwd() / f"tuiapp-job-{job_id}"), chosen)

    @work(group="export", exit_on_error=False, description="export a job")
    async def _export(self, job_id: int, folder: Path) -> None:
        paths = await self.engine.export_job(job_id, self.owner, folder)
        self.notify(f"{len(paths)} files written to {folder}", title=f"Job {job_id} exported")

    # --- toasts and errors ---------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a toast; every toast of the app (screens' too) comes through here.

        Toasts carry error messages, titles and folder names that came from outside, so their
        text is data: ``markup`` is ignored (a ``[link=...]`` in a title stays those characters;
        ``Widget.notify`` passes ``markup=True`` unasked) and control characters are escaped.
        """
        del markup
        super().notify(
            printable(message),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def report_error(self, error: BaseException) -> None:
        """Show a failed action to the user: our errors in words, others with their type."""
        if isinstance(error, TuiappError):
            self.notify(str(error), title="Could not do that", severity="error")
        else:
            log.error("UI action failed", exc_info=error)
            self.notify(
                f"{type(error).__name__}: {error}", title="Unexpected error", severity="error"
            )

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            if event.worker.group == "bridge":
                self.notify(
                    f"Live updates stopped: {event.worker.error}", severity="error", timeout=30
                )
                return
            self.report_error(event.worker.error)
