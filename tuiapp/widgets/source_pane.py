"""One pane per source of a job: state, counters, bytes, speed and the last error in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tuiapp.text import printable
from tuiapp.widgets.formatting import human_bytes, human_speed, state_words

if TYPE_CHECKING:
    from tuiapp.board import SourceView

__all__ = ["SourcePane"]

_STATE_CLASSES = {
    "queued": "-queued",
    "searching": "-active",
    "downloading": "-active",
    "done": "-done",
    "failed": "-failed",
    "blocked": "-failed",
    "timed_out": "-failed",
    "cancelled": "-cancelled",
    "interrupted": "-cancelled",
}


class SourcePane(Widget, can_focus=True):
    """Shows one :class:`SourceView`; focus it and press the dashboard's cancel key to stop it."""

    @dataclass
    class CancelRequested(Message):
        """The user asked to cancel this pane's source."""

        source: str

    view: reactive[SourceView | None] = reactive(None, layout=False)
    """What the pane shows; set by the dashboard, which replaces it only when it changed."""

    def __init__(self, view: SourceView, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source_name = view.name
        self.set_reactive(SourcePane.view, view)

    def on_mount(self) -> None:
        self._restyle()

    def watch_view(self) -> None:
        self._restyle()

    def _restyle(self) -> None:
        view = self.view
        if view is None:
            return
        self.border_title = view.name
        self.border_subtitle = state_words(view.state)
        for cls in set(_STATE_CLASSES.values()):
            self.set_class(_STATE_CLASSES.get(view.state) == cls, cls)

    def render(self) -> Text:
        view = self.view
        if view is None:
            return Text()
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{view.found} found  ")
        text.append(f"{view.stored} stored", style="bold")
        text.append("  ")
        text.append(f"{view.failed} failed", style="red" if view.failed else "")
        text.append("\n")
        text.append(human_bytes(view.bytes))
        if view.state in {"searching", "downloading"}:
            text.append(f"  {human_speed(view.speed)}")
        if view.transfer is not None:
            url, done, total = view.transfer
            name = printable(url.rsplit("/", 1)[-1])
            pct = f" {100 * done // total}%" if total else f" {human_bytes(done)}"
            text.append(f"  {name}{pct}", style="dim")
        text.append("\n")
        # Errors, file names and notices come from remote sites: appended to a Text (never
        # parsed as markup) and with control characters escaped.
        if view.error:
            text.append(printable(view.error), style="bold red")
        elif view.last_item_error:
            text.append(printable(view.last_item_error), style="yellow")
        elif view.notice:
            text.append(printable(view.notice), style="dim")
        elif view.state == "queued":
            text.append("waiting for a free slot", style="dim")
        return text

    def action_request_cancel(self) -> None:
        self.post_message(self.CancelRequested(self.source_name))
