"""The help screen: every key of every screen, read from the bindings themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tuiapp.screens.base import TuiModal

if TYPE_CHECKING:
    from collections.abc import Iterable

    from textual.app import ComposeResult

__all__ = ["HelpModal"]

INTRO = (
    "tuiapp asks many media sources at once and keeps every file in its database.\n"
    "Start a job on the New job screen; watch it on the Dashboard; find it later in History.\n"
    "Ctrl+P opens the command palette: every action is there too."
)


def _bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    out: list[Binding] = []
    for b in bindings:
        if isinstance(b, Binding):
            out.append(b)
        elif len(b) >= 3:
            out.append(Binding(b[0], b[1], b[2]))
    return out


def _key_names(keys: str) -> str:
    return " ".join(k.strip().replace("ctrl+", "^").replace("slash", "/") for k in keys.split(","))


class HelpModal(TuiModal[None]):
    """Lists the keys of ``sections``: (title, bindings) pairs given by the app."""

    BINDING_GROUP_TITLE = "Help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1", "close", "Close", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text(INTRO), id="help-intro")
            for title, bindings in self.sections:
                table = Table(title=title, title_justify="left", show_header=False, box=None)
                table.add_column("Key", style="bold", min_width=12)
                table.add_column("Action")
                for b in _bindings(bindings):
                    table.add_row(_key_names(b.key), b.tooltip or b.description)
                yield Static(table, classes="help-section")

    def action_close(self) -> None:
        self.dismiss(None)
