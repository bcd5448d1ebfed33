"""The Textual app: modes, app-wide keys and commands, and the actions screens share.

The app owns no engine logic and builds nothing: ``tuiapp.cli`` starts the engine (and the HTTP
API) and hands them in. It applies engine events to its :class:`~tuiapp.live_jobs.Board`, tells
screens when jobs change (``jobs_changed``), and shows toasts whose text is never markup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App
from textual.screen import ModalScreen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from tuiapp import events as ev
from tuiapp.bridge import start_bridge
from tuiapp.commands import TuiappCommands
from tuiapp.errors import TuiappError, error_label
from tuiapp.live_jobs import Board
from tuiapp.messages import EngineEvent, EventsLost
from tuiapp.prefs import default_prefs_path, load_prefs, save_prefs
from tuiapp.screens import (
    BoardScreen,
    ConfirmModal,
    ErrorModal,
    ExportChoice,
    ExportModal,
    HelpModal,
    HistoryScreen,
    JobDetailScreen,
    LibraryScreen,
    NewJobScreen,
    QuitModal,
    WatchesScreen,
)
from tuiapp.text import LOG_NAME, log_tail, printable
from tuiapp.widgets import caches
from tuiapp.widgets.formatting import human_bytes, state_words
from tuiapp.widgets.keys import APP_KEYS
from tuiapp.widgets.tables import TABLE_KEYS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from textual.binding import Binding, BindingType
    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.theme import Theme

    from tuiapp.client import EngineClient
    from tuiapp.events import JobView

__all__ = ["TuiApp"]

log = logging.getLogger(__name__)

EXPORT_LIMIT = 100_000
"""Files of a job looked at to count its near-duplicates before an export."""

_TOAST_SEVERITY: dict[str, SeverityLevel] = {
    "done": "information",
    "partial": "warning",
    "cancelled": "warning",
}
"""Toasts of other end states (failed, timed out, interrupted) are errors."""


def finished_toast(event: ev.JobFinished, job: JobView | None) -> str:
    """What a finished job's toast says: totals, then which sources failed (by label)."""
    text = f"{event.stored} stored, {human_bytes(event.bytes)} in {event.elapsed:.1f} s"
    if job is not None:
        failed = [
            f"{s.name} ({error_label(s.error_code, s.state)})"
            for s in job.sources.values()
            if s.error or s.state.failed
        ]
        if failed:
            text += "; failed: " + ", ".join(failed)
    if event.error:
        text += f" · {event.error}"
    return text


class TuiApp(App[None]):
    """The full-screen app. Give it a started engine; it never starts or closes the engine."""

    TITLE = "tuiapp"
    CSS_PATH = "app.tcss"
    BINDING_GROUP_TITLE = "tuiapp"
    MODES: ClassVar[dict[str, Any]] = {
        "new": NewJobScreen,
        "board": BoardScreen,
        "history": HistoryScreen,
        "library": LibraryScreen,
        "watches": WatchesScreen,
    }
    COMMANDS = App.COMMANDS | {TuiappCommands}
    # Textual declares this without ClassVar (mypy rejects a ClassVar override): RUF012 is moot.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (110, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = APP_KEYS

    def __init__(
        self,
        engine: EngineClient,
        *,
        owner: int | None = None,
        user_name: str | None = None,
        api_url: str | None = None,
        api_error: str | None = None,
        start_api: Callable[[], Awaitable[tuple[str | None, str | None]]] | None = None,
        clock: Callable[[], float] = time.time,
        prefs_path: Path | None = None,
    ) -> None:
        """Args:
        engine: a started engine (or a fake with the same methods).
        owner: the acting user's id; None for guest.
        user_name: shown in the header.
        api_url: where the embedded HTTP API listens, to show; None when it is not running.
        api_error: why the HTTP API did not start, to show.
        start_api: starts the HTTP API once the first screen is drawn (the process's builder
            gives it; the first screen does not wait for it); returns its URL, or None and why
            it did not start.
        clock: wall-clock seconds; tests freeze it so elapsed times are stable.
        prefs_path: the preferences file; by default under ``$XDG_CONFIG_HOME/tuiapp/``.
        """
        super().__init__()
        self.engine = engine
        self.owner = owner
        self.user_name = user_name
        self.api_url = api_url
        self.api_error = api_error
        self.start_api = start_api
        self.clock = clock
        self.board = Board(default_timeout=engine.settings.global_job_timeout)
        self.jobs_changed: Signal[int] = Signal(self, "jobs-changed")
        """Published with a job id when a job was added, started, stored a file, ended or went."""
        self.prefs_path = prefs_path if prefs_path is not None else default_prefs_path()
        self.prefs, self._prefs_notice = load_prefs(self.prefs_path)
        """Theme, last ticked sources and count, as loaded at start and saved on change."""
        if self.prefs.theme and self.prefs.theme in self.available_themes:
            self.theme = self.prefs.theme

    def on_mount(self) -> None:
        start_bridge(self, self.engine, self.owner)
        self.switch_mode("new")
        if self.start_api is None:
            self._show_api()
        else:
            self._show_api(starting=True)
            self.call_after_refresh(self._open_api)
        if self._prefs_notice:
            self.notify(self._prefs_notice, title="Preferences ignored", severity="warning")
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.set_interval(caches.EVERY, lambda: caches.tidy(self))

    def _show_api(self, *, starting: bool = False) -> None:
        who = f"as {self.user_name}" if self.user_name else "as guest"
        api = "API starting" if starting else f"API {self.api_url}" if self.api_url else "API off"
        self.sub_title = f"{who} · {api}"
        if self.api_error:
            self.notify(self.api_error, title="HTTP API not started", severity="error", timeout=15)

    @work(exclusive=True, group="api", exit_on_error=False, description="start the HTTP API")
    async def _open_api(self) -> None:
        assert self.start_api is not None
        try:
            self.api_url, self.api_error = await self.start_api()
        except Exception as exc:  # the app goes on without the API, and says why
            log.warning("HTTP API not started", exc_info=True)
            self.api_url, self.api_error = None, f"{type(exc).__name__}: {exc}"
        self._show_api()

    # --- preferences ----------------------------------------------------------------------------

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name != self.prefs.theme:
            self.remember(theme=theme.name)

    def remember(self, **changes: Any) -> None:
        """Change and save preferences (``theme``, ``sources``, ``count``)."""
        self.prefs = replace(self.prefs, **changes)
        problem = save_prefs(self.prefs_path, self.prefs)
        if problem:
            self.notify(problem, title="Preferences", severity="warning")

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
                    board.current = event.job_id  # an idle Board follows the newest job
            case ev.JobFinished():
                self.notify(
                    finished_toast(event, self.board.jobs.get(event.job_id)),
                    title=f"Job {event.job_id} {state_words(event.state)}",
                    severity=_TOAST_SEVERITY.get(event.state, "error"),
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
        """Show every key: the screen in front's first, then the app's, then the others'."""
        if isinstance(self.screen, HelpModal):
            self.screen.dismiss(None)  # F1 toggles: it is a priority key, the modal never sees it
            return
        from tuiapp.screens import AssetViewScreen

        screens: list[type[Screen[Any]]] = [
            NewJobScreen,
            BoardScreen,
            HistoryScreen,
            JobDetailScreen,
            LibraryScreen,
            AssetViewScreen,
        ]
        full = [s for s in self.screen_stack if not isinstance(s, ModalScreen)]
        front = type(full[-1]) if full else None
        order = sorted(screens, key=lambda screen: screen is not front)
        sections: list[tuple[str, list[BindingType]]] = [
            (screen.BINDING_GROUP_TITLE or screen.__name__, list(screen.BINDINGS))
            for screen in order
        ]
        at = 1 if front in screens else 0
        sections.insert(at, ("Everywhere", list(self.BINDINGS)))
        sections.insert(at + 1, ("Tables and lists", list(TABLE_KEYS)))
        self.push_screen(HelpModal(sections))

    def get_key_display(self, binding: Binding) -> str:
        """Keys in the footer as a newcomer reads them: ``Enter``, ``Esc``, ``Tab``, ``^q``."""
        if binding.key_display:
            return binding.key_display
        named = {"enter": "Enter", "escape": "Esc", "tab": "Tab", "slash": "/"}
        return named.get(binding.key.split(",")[0]) or super().get_key_display(binding)

    @on(events.DeliveryComplete)
    def _screenshot_saved(self, event: events.DeliveryComplete) -> None:
        """The palette's screenshot, said without markup (Textual's own notice has some)."""
        if event.name == "screenshot":
            event.prevent_default()  # Textual's handler, further down the classes, is skipped
            where = f" to {event.path}" if event.path is not None else ""
            self.notify(f"Saved screenshot{where}", title="Screenshot")

    def action_help_quit(self) -> None:
        """Ctrl+C: say how to quit, in plain words (Textual's own notice is markup)."""
        self.notify("Press Ctrl+Q (or q where no text field has the focus) to quit.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide F3 on the Board and F4 in History (the footer needs the room at 80 columns);
        on the Board, F5 is the Board's own hidden key (its footer is full at 80 columns)."""
        if action == "library":
            under = [s for s in self.screen_stack if not isinstance(s, ModalScreen)]
            return not (under and isinstance(under[-1], BoardScreen))
        if action in {"board", "history", "library"} and self.current_mode == action:
            # Hidden while the mode's own screen is in view (under a dialog, too); shown once a
            # full screen (a job's detail) is pushed on top, where it leads back.
            screens = [s for s in self.screen_stack if not isinstance(s, ModalScreen)]
            return len(screens) > 1
        return True

    async def _to_mode(self, mode: str) -> None:
        """Show ``mode``'s screen; awaited, so keys typed right after land on it."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        if self.current_mode != mode:
            await self.switch_mode(mode)

    @work(exclusive=True, group="log", exit_on_error=False, description="Reading the log")
    async def action_show_log(self) -> None:
        """Show the end of ``tuiapp.log`` (in the data folder), newest lines last."""
        path = self.engine.settings.data_dir / LOG_NAME
        text = await asyncio.to_thread(log_tail, path)
        self.push_screen(ErrorModal(f"Log: {path} (the last lines)", text, end=True))

    async def action_new_job(self) -> None:
        """Go to the New job screen with the cursor in the query, ready to type."""
        await self._to_mode("new")
        screen = self.screen
        if isinstance(screen, NewJobScreen):
            screen.focus_query()

    @property
    def running_jobs(self) -> list[int]:
        """Jobs on the board not yet ended (queued or running)."""
        return [job_id for job_id, job in self.board.jobs.items() if not job.finished]

    async def action_quit(self) -> None:
        """Quit; when jobs are running, ask first (quitting cancels them)."""
        running = self.running_jobs
        if not running or isinstance(self.screen, QuitModal):
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        jobs = "1 job is" if len(running) == 1 else f"{len(running)} jobs are"
        them = "it" if len(running) == 1 else "them"
        question = (
            f"{jobs} still running; quitting cancels {them} (files stored so far stay). Quit?"
        )
        self.push_screen(QuitModal(question, yes="Quit"), answered)

    async def action_quit_key(self) -> None:
        """``q``: as Ctrl+Q where no text field has the focus (dialogs keep their own keys)."""
        await self.action_quit()

    def cancel_job(self, job_id: int) -> None:
        """Ask, then cancel every source of the job (files stored so far stay)."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel(job_id, None)

        self.push_screen(
            ConfirmModal(
                f"Cancel job {job_id}? Every source stops; files stored so far stay.",
                yes="Cancel job",
            ),
            answered,
        )

    def cancel_source(self, job_id: int, source: str) -> None:
        """Cancel one source of a job at once (the rest go on)."""
        self._cancel(job_id, source)

    @work(group="cancel", exit_on_error=False, description="cancel a job or a source")
    async def _cancel(self, job_id: int, source: str | None) -> None:
        await self.engine.cancel(job_id, self.owner, source)
        what = f"{source} of job {job_id}" if source else f"job {job_id}"
        self.notify(f"Cancelling {what}")

    async def action_board(self) -> None:
        await self._to_mode("board")

    async def action_history(self) -> None:
        await self._to_mode("history")

    async def action_library(self) -> None:
        await self._to_mode("library")

    async def action_to_library(self) -> None:
        """F5 on the Board (its footer leaves the app's F5 out)."""
        await self._to_mode("library")

    async def action_watches(self) -> None:
        await self._to_mode("watches")

    def follow_job(self, job_id: int) -> None:
        """Show ``job_id`` on the Board (loading it from the engine if the board lacks it)."""
        self._follow(job_id)

    @work(exclusive=True, group="follow", exit_on_error=False, description="follow a job")
    async def _follow(self, job_id: int) -> None:
        if job_id not in self.board.jobs:
            self.board.load(await self.engine.get_job(job_id, self.owner))
        self.board.current = job_id
        await self._to_mode("board")

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

    @work(group="export", exit_on_error=False, description="export a job")
    async def export_job(self, job_id: int) -> None:
        """Ask for a folder (and whether to skip near-duplicates), then write the files."""
        assets = await self.engine.list_assets(self.owner, job_id=job_id, limit=EXPORT_LIMIT)
        copies = len(assets) - len({a.duplicate_of or a.id for a in assets})

        def chosen(choice: ExportChoice | None) -> None:
            if choice is not None:
                self._export(job_id, choice)

        default = Path.cwd() / f"tuiapp-job-{job_id}"
        self.push_screen(ExportModal(job_id, default, copies=copies), chosen)

    @work(group="export", exit_on_error=False, description="export a job")
    async def _export(self, job_id: int, choice: ExportChoice) -> None:
        done = await self.engine.export_job(job_id, self.owner, choice.folder, unique=choice.unique)
        skipped = " (near-duplicates skipped)" if choice.unique else ""
        self.notify(done.summary(choice.folder) + skipped, title=f"Job {job_id} exported")

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
