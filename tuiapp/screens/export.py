"""Asks for the folder to export a job's files into."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label

from tuiapp.screens.base import TuiModal

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["ExportModal"]


class ExportModal(TuiModal[Path | None]):
    BINDING_GROUP_TITLE = "Export"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(self, job_id: int, default: Path) -> None:
        super().__init__()
        self.job_id = job_id
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Export the files of job {self.job_id} into this folder (Enter):")
            yield Input(str(self.default), id="folder")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
