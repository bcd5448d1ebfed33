"""The footer every screen shows: compact, and complete at 80 columns.

Below ``PALETTE_HINT_WIDTH`` columns the ``^p palette`` entry gives its room to the screen's
own keys (the help screen, F1, names Ctrl+P first).

Textual's footer builds its keys anew whenever the screen's bindings are refreshed (focus moves,
a job starts or ends), and each key watches the footer's ``compact``; a watcher is forgotten
only when ``compact`` changes, which here it never does. So every rebuild kept the keys it
replaced, with their styles and render caches: with the Board following a job a second, the app
grew by about 0.5 MB a job. :meth:`AppFooter.recompose` lets them go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

    async def recompose(self) -> None:
        await super().recompose()
        self._forget_removed_watchers()

    def _forget_removed_watchers(self) -> None:
        """Drop the watchers of keys that were removed, as Textual does when a value changes."""
        watchers: dict[str, list[tuple[Any, Any]]] = getattr(self, "__watchers", {})
        for entries in watchers.values():
            entries[:] = [(node, call) for node, call in entries if not node._closing]

    def _fit(self, width: int) -> None:
        wanted = width >= PALETTE_HINT_WIDTH
        if self.show_command_palette != wanted:
            self.show_command_palette = wanted
            self.call_after_refresh(self.recompose)
