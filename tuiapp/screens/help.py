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

__all__ = ["HelpModal", "help_rows"]

CLOSE_HINT = "Esc, q, ? or F1 closes this help; ↑↓ scroll."

INTRO = (
    "tuiapp asks many media sources at once and keeps every file in its database.\n"
    "Start a job on the New job screen; watch it on the Board; find it later in History.\n"
    "Ctrl+P opens the command palette: every action that applies now is there too."
)


def _bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    out: list[Binding] = []
    for b in bindings:
        if isinstance(b, Binding):
            out.append(b)
        elif len(b) >= 3:
            out.append(Binding(b[0], b[1], b[2]))
    return out


_KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "slash": "/",
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "tab": "Tab",
    "question_mark": "?",
    "home": "Home",
    "end": "End",
}


def _key_names(binding: Binding) -> str:
    """How a person types the binding's keys: ``Esc q F1``, ``Ctrl+S``, ``←``."""
    names = []
    for key in binding.key.split(","):
        key = key.strip()
        if key.startswith("ctrl+"):
            names.append("Ctrl+" + key.removeprefix("ctrl+").upper())
        elif key.startswith("f") and key[1:].isdigit():
            names.append(key.upper())
        else:
            names.append(_KEY_NAMES.get(key, key))
    return " ".join(names)


def help_rows(
    sections: list[tuple[str, list[BindingType]]],
) -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(keys as typed, what they do)]) for each section, as the help shows them."""
    return [
        (title, [(_key_names(b), b.tooltip or b.description) for b in _bindings(bindings)])
        for title, bindings in sections
    ]


class HelpModal(TuiModal[None]):
    """Lists the keys of ``sections``: (title, bindings) pairs given by the app."""

    BINDING_GROUP_TITLE = "Help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark,f1",
            "close",
            "Close",
            tooltip="Close this help",
            id="help.close",
        ),
    ]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text(CLOSE_HINT, style="bold"), id="help-close")
            yield Static(Text(INTRO), id="help-intro")
            for title, rows in help_rows(self.sections):
                table = Table(title=title, title_justify="left", show_header=False, box=None)
                table.add_column("Key", style="bold", min_width=12)
                table.add_column("Action")
                for keys, what in rows:
                    table.add_row(keys, what)
                yield Static(table, classes="help-section")

    def action_close(self) -> None:
        self.dismiss(None)
