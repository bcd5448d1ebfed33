"""The footer every screen shows: two rows, each whole at 80 columns.

The top row holds the keys of the screen in front (and of the widget with the focus); the bottom
row the app's own, the same on every screen: F1-F4, Ctrl+P (the palette) and Ctrl+Q (quit).

Textual's footer builds its keys anew whenever the screen's bindings are refreshed (focus moves,
a job starts or ends), and each key watches the footer's ``compact``; a watcher is forgotten
only when ``compact`` changes, which here it never does. So every rebuild kept the keys it
replaced, with their styles and render caches: with the Board following a job a second, the app
grew by about 0.5 MB a job. :meth:`KeyRow.recompose` lets them go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.containers import Vertical
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.binding import Binding

__all__ = ["AppFooter", "KeyRow"]


class KeyRow(Footer):
    """One row of the footer: the app's keys (``app_keys``) or the screen's.

    A key bound to an action already shown is left out (one entry per action), as in
    :class:`Footer`.
    """

    DEFAULT_CSS = """
    KeyRow { dock: none; }
    """

    def __init__(self, *, app_keys: bool) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self.app_keys = app_keys

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        shown: dict[str, tuple[Binding, bool, str]] = {}
        palette: tuple[Binding, bool, str] | None = None
        screen_keys = self.screen._bindings.key_to_bindings
        for key, (node, binding, enabled, tooltip) in self.screen.active_bindings.items():
            if isinstance(node, App) != self.app_keys:
                continue
            if not binding.show and not self.app_keys and key in screen_keys:
                # A table's own Enter (select) comes first, but the screen says what it does.
                binding = next((b for b in screen_keys[key] if b.show), binding)
            if binding.action in {"command_palette", "app.command_palette"}:
                palette = (binding, enabled, tooltip)
            elif binding.show and binding.action not in shown:
                shown[binding.action] = (binding, enabled, tooltip)
        quit_key = shown.pop("quit", None)  # last, where people look for it (htop, lazygit)
        for binding, enabled, tooltip in shown.values():
            yield self._key(binding, binding.description, enabled, tooltip)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            binding, enabled, tooltip = palette
            yield self._key(binding, "Palette", enabled, tooltip or "Every action, by name")
        if quit_key is not None:
            yield self._key(quit_key[0], quit_key[0].description, quit_key[1], quit_key[2])

    def _key(self, binding: Binding, description: str, enabled: bool, tooltip: str) -> FooterKey:
        return FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip or binding.tooltip or description,
        ).data_bind(compact=Footer.compact)

    async def recompose(self) -> None:
        await super().recompose()
        self._forget_removed_watchers()

    def _forget_removed_watchers(self) -> None:
        """Drop the watchers of keys that were removed, as Textual does when a value changes."""
        watchers: dict[str, list[tuple[Any, Any]]] = getattr(self, "__watchers", {})
        for entries in watchers.values():
            entries[:] = [(node, call) for node, call in entries if not node._closing]


class AppFooter(Vertical):
    """The screen's keys above the app's keys, docked at the bottom."""

    DEFAULT_CSS = """
    AppFooter {
        dock: bottom;
        height: 2;
    }
    """

    def compose(self) -> ComposeResult:
        yield KeyRow(app_keys=False)
        yield KeyRow(app_keys=True)
