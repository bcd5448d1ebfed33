"""The Textual app: modes, app-wide keys and commands, and ``run_app`` for the ``tuiapp`` command.

The app owns no engine logic: it applies bridge messages to its :class:`~tuiapp.board.Board`,
tells screens when jobs change (``jobs_changed``), and runs the few actions shared by screens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from tuiapp import messages as msg
from tuiapp.board import Board
from tuiapp.bridge import start_bridge
from tuiapp.commands import TuiappCommands
from tuiapp.errors import TuiappError
from tuiapp.screens import (
    ConfirmModal,
    DashboardScreen,
    ExportModal,
    HelpModal,
    HistoryScreen,
    JobDetailScreen,
    NewJobScreen,
)
from tuiapp.widgets.formatting import human_bytes, state_words

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.message import Message

    from tuiapp.client import EngineClient
    from tuiapp.config import Settings
    from tuiapp.engine import Engine
    from tuiapp.server import RunningServer

__all__ = ["TuiApp", "run_app"]

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

    # --- engine messages (posted by the bridge) -----------------------------------------------

    def _apply(self, message: Message, job_id: int) -> None:
        if self.board.apply(message):
            self.jobs_changed.publish(job_id)

    @on(msg.JobQueued)
    def _job_queued(self, message: msg.JobQueued) -> None:
        self._apply(message, message.job_id)
        current = self.board.jobs.get(self.board.current) if self.board.current else None
        if current is None or current.finished:
            self.board.current = message.job_id  # an idle dashboard follows the newest job

    @on(msg.JobRunning)
    @on(msg.SourceUpdated)
    @on(msg.TransferUpdated)
    @on(msg.AssetAdded)
    @on(msg.ItemRejected)
    @on(msg.SourceNoted)
    @on(msg.JobRemoved)
    def _job_progress(
        self,
        message: msg.JobRunning
        | msg.SourceUpdated
        | msg.TransferUpdated
        | msg.AssetAdded
        | msg.ItemRejected
        | msg.SourceNoted
        | msg.JobRemoved,
    ) -> None:
        self._apply(message, message.job_id)

    @on(msg.JobEnded)
    def _job_ended(self, message: msg.JobEnded) -> None:
        self._apply(message, message.job_id)
        why = f": {message.error}" if message.error else ""
        self.notify(
            f"{message.stored} stored, {message.failed} failed,"
            f" {human_bytes(message.bytes)} in {message.elapsed:.1f} s{why}",
            title=f"Job {message.job_id} {state_words(message.state)}",
            severity="information" if message.state == "done" else "warning",
        )

    @on(msg.EventsLost)
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

    # --- errors -------------------------------------------------------------------------------

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


# --- the `tuiapp` command ---------------------------------------------------------------------


async def _start_api(
    engine: Engine, settings: Settings
) -> tuple[RunningServer | None, str | None, str | None]:
    """Start the embedded HTTP API; returns (server, url, None) or (None, None, why not)."""
    from tuiapp.server import start_server

    try:
        server = await start_server(engine, settings.http_host, settings.http_port)
    except OSError as exc:  # a port in use: the TUI still works without the API
        log.warning("HTTP API not started", exc_info=True)
        return None, None, f"cannot listen on {settings.http_host}:{settings.http_port}: {exc}"
    return server, server.url, None


async def run_app_async(settings: Settings) -> None:
    """Start the engine (as ``settings.user`` or guest) and the HTTP API, run the app, close all."""
    from tuiapp.engine import Engine

    async with Engine(settings) as engine:
        owner = None
        if settings.user:
            owner = (await engine.user_named(settings.user)).id
        server, url, error = await _start_api(engine, settings)
        try:
            app = TuiApp(engine, owner=owner, user_name=settings.user, api_url=url, api_error=error)
            await app.run_async()
        finally:
            if server is not None:
                await server.close()


def run_app(settings: Settings) -> None:
    """Run the full-screen app until the user quits. Logs go to ``DATA_DIR/tuiapp.log``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.FileHandler(settings.data_dir / "tuiapp.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    asyncio.run(run_app_async(settings))
