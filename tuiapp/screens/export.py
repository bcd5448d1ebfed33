"""Asks for the folder to export files into (a job's or a search's), whether to skip
near-duplicates and whether to write sidecars."""

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
    sidecar: bool = False
    """A ``NAME.json`` of metadata beside each file."""


class ExportModal(TuiModal[ExportChoice | None]):
    """The folder (Enter exports); when the job has near-duplicates (or ``offer_unique``), a box
    to skip them; a box for sidecars."""

    BINDING_GROUP_TITLE = "Export"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(
        self,
        job_id: int | None,
        default: Path,
        *,
        copies: int = 0,
        what: str | None = None,
        offer_unique: bool = False,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.default = default
        self.copies = copies
        """Files of the job that are near-duplicates of another of its files."""
        self.what = what or f"the files of job {job_id}"
        self.offer_unique = offer_unique

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Export {self.what} into this folder (Enter):")
            yield Input(str(self.default), id="folder")
            if self.copies:
                plural = "" if self.copies == 1 else "s"
                yield Checkbox(
                    f"Skip {self.copies} near-duplicate{plural} (one file per picture)",
                    value=True,
                    id="unique",
                )
            elif self.offer_unique:
                yield Checkbox("Skip near-duplicates (one file per picture)", id="unique")
            if self.job_id is None:
                yield Checkbox("Write NAME.json with each file's metadata", id="sidecar")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.dismiss(None)
            return
        unique = [box.value for box in self.query("#unique").results(Checkbox)]
        sidecar = [box.value for box in self.query("#sidecar").results(Checkbox)]
        self.dismiss(ExportChoice(Path(text).expanduser(), any(unique), sidecar=any(sidecar)))

    def action_cancel(self) -> None:
        self.dismiss(None)
