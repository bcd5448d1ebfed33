"""Asks for the folder to export a job's files into, and whether to skip near-duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Label

from tuiapp.screens.base import TuiModal

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["ExportChoice", "ExportModal"]


@dataclass(frozen=True, slots=True)
class ExportChoice:
    folder: Path
    unique: bool
    """One file per picture: near-duplicates skipped."""


class ExportModal(TuiModal[ExportChoice | None]):
    """The folder (Enter exports); when the job has near-duplicates, a box to skip them."""

    BINDING_GROUP_TITLE = "Export"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(self, job_id: int, default: Path, *, copies: int = 0) -> None:
        super().__init__()
        self.job_id = job_id
        self.default = default
        self.copies = copies
        """Files of the job that are near-duplicates of another of its files."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Export the files of job {self.job_id} into this folder (Enter):")
            yield Input(str(self.default), id="folder")
            if self.copies:
                plural = "" if self.copies == 1 else "s"
                yield Checkbox(
                    f"Skip {self.copies} near-duplicate{plural} (one file per picture)",
                    value=True,
                    id="unique",
                )

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.dismiss(None)
            return
        boxes = self.query(Checkbox)
        unique = bool(boxes) and boxes.first().value
        self.dismiss(ExportChoice(Path(text).expanduser(), unique))

    def action_cancel(self) -> None:
        self.dismiss(None)
