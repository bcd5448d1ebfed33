"""Tables that move as the keyboard expects: j/k, g/G and Home/End as well as the arrows."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

__all__ = ["TABLE_KEYS", "KeyTable"]

T = TypeVar("T")

TABLE_KEYS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", tooltip="Next row (↓, j)", show=False),
    Binding("k", "cursor_up", "Up", tooltip="Previous row (↑, k)", show=False),
    Binding("g,home", "scroll_top", "First", tooltip="First row (g, Home)", show=False),
    Binding("G,end", "scroll_bottom", "Last", tooltip="Last row (G, End)", show=False),
]
"""The keys every table and list of the app adds (the help lists them)."""


class KeyTable(DataTable[T]):
    """A :class:`DataTable` with :data:`TABLE_KEYS` (Home and End go to the first and last row,
    not to the first and last column: the app's tables select rows)."""

    BINDINGS: ClassVar[list[BindingType]] = TABLE_KEYS
