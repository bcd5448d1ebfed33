"""The full text of an error (a source's, a file's) or of the log, scrollable; shown as data."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from tuiapp.screens.base import TuiModal
from tuiapp.text import printable

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["ErrorModal"]


class ErrorModal(TuiModal[None]):
    """Shows ``title`` and the whole of ``text``; Esc, q or Enter closes it."""

    BINDING_GROUP_TITLE = "Error"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="error.close"),
    ]

    def __init__(self, title: str, text: str, *, end: bool = False) -> None:
        """
        Args:
            title: what the text is.
            text: the text, remote parts and all (control characters are escaped, no markup).
            end: open scrolled to the end (a log's newest lines).
        """
        super().__init__()
        self.title_text = title
        self.text = text
        self.end = end

    def compose(self) -> ComposeResult:
        with Vertical(id="error-dialog"):
            yield Label(Text(printable(self.title_text), style="bold"), id="error-title")
            with VerticalScroll(id="error-body"):
                # Multi-line errors keep their lines; each line has its control characters escaped.
                lines = [printable(line) for line in self.text.splitlines()] or [""]
                yield Static(Text("\n".join(lines)), id="error-text")
            yield Label(Text("Esc closes · ↑↓ scroll", style="dim"))

    def on_mount(self) -> None:
        body = self.query_one("#error-body", VerticalScroll)
        body.focus()
        if self.end:
            body.scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
