"""What every screen of the app shares: typed access to the app and central worker errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import on
from textual.events import Mount
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from tuiapp.app import TuiApp
    from tuiapp.client import EngineClient

__all__ = ["TuiModal", "TuiScreen"]

T = TypeVar("T")


class _Shared:
    @property
    def tui(self) -> TuiApp:
        return cast("TuiApp", cast("Screen[Any]", self).app)

    @property
    def engine(self) -> EngineClient:
        return self.tui.engine

    @property
    def owner(self) -> int | None:
        return self.tui.owner


class TuiScreen(_Shared, Screen[None]):
    """A full screen of the app; failed workers are reported in one place."""

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.tui.report_error(event.worker.error)


class TuiModal(_Shared, ModalScreen[T]):
    """A dialog of the app returning ``T``.

    Toasts step aside for it: those shown when it opens go (they spoke of the screen behind),
    and those raised while it is open come at the top (app.tcss), clear of a centred dialog.
    """

    @on(Mount)
    def _toasts_step_aside(self) -> None:
        self.app.clear_notifications()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.tui.report_error(event.worker.error)
