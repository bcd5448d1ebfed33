"""A yes/no question; dismisses with True only on an explicit yes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from tuiapp.screens.base import TuiModal

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["ConfirmModal", "QuitModal"]


class ConfirmModal(TuiModal[bool]):
    BINDING_GROUP_TITLE = "Confirm"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            with Horizontal(id="buttons"):
                yield Button(f"{self.yes_label} (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class QuitModal(ConfirmModal):
    """Whether to quit while jobs run: ``q`` (or Ctrl+Q) again answers yes, as in lazygit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "answer(True)", "Quit", show=False, id="quit.yes"),
    ]
