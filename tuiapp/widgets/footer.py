"""The footer every screen shows: compact, and complete at 80 columns.

Below ``PALETTE_HINT_WIDTH`` columns the ``^p palette`` entry gives its room to the screen's
own keys (the help screen, F1, names Ctrl+P first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.events import Resize

__all__ = ["AppFooter"]

PALETTE_HINT_WIDTH = 100


class AppFooter(Footer):
    """A compact :class:`Footer` that drops the palette hint on narrow terminals."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def on_mount(self) -> None:
        self._fit(self.app.size.width)

    def on_resize(self, event: Resize) -> None:
        self._fit(self.app.size.width)

    def _fit(self, width: int) -> None:
        wanted = width >= PALETTE_HINT_WIDTH
        if self.show_command_palette != wanted:
            self.show_command_palette = wanted
            self.call_after_refresh(self.recompose)
