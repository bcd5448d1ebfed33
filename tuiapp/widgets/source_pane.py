"""One pane per source of a job: state, counters, bytes, speed and the last error in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tuiapp.errors import error_cause, error_label
from tuiapp.text import printable
from tuiapp.widgets.formatting import bar, clock, human_bytes, human_speed, state_words

if TYPE_CHECKING:
    from tuiapp.events import SourceView

__all__ = ["SourcePane", "pane_text"]

_STATE_CLASSES = {
    "queued": "-queued",
    "searching": "-active",
    "downloading": "-active",
    "done": "-done",
    "failed": "-failed",
    "blocked": "-failed",
    "timed_out": "-failed",
    "partial": "-partial",
    "cancelled": "-cancelled",
    "interrupted": "-cancelled",
}


class SourcePane(Widget, can_focus=True):
    """Shows one :class:`SourceView`; focus it and press the board's cancel key to stop it."""

    @dataclass
    class CancelRequested(Message):
        """The user asked to cancel this pane's source."""

        source: str

    view: reactive[SourceView | None] = reactive(None, layout=False)
    """What the pane shows; set by the board, which replaces it only when it changed."""

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
        return pane_text(view, self.content_size.width)

    def action_request_cancel(self) -> None:
        self.post_message(self.CancelRequested(self.source_name))


def pane_text(view: SourceView, width: int) -> Text:
    """Five lines: stored of target, failed; a bar and found; bytes, rate and ETA; then
    the error as a label and its cause (or the latest file's trouble, a notice, the file in
    flight). Errors, file names and notices come from remote sites: appended to a Text (never
    parsed as markup) with control characters escaped."""
    text = Text(no_wrap=True, overflow="ellipsis")
    active = view.state.active
    if view.target:
        text.append(f"stored {view.stored} of {view.target}", style="bold")
    else:
        text.append(f"stored {view.stored}", style="bold")
    if view.failed:
        text.append(" · ")
        text.append(f"{view.failed} failed", style="red")
    text.append("\n")
    # A source that ended done with fewer files than asked ran out: its bar is of what it found.
    ran_out = view.state == "done" and view.target > 0 and view.stored < view.target
    of = min(view.target, max(view.found, view.stored)) if ran_out else view.target
    fraction = min(1.0, view.stored / of) if of else (1.0 if ran_out else 0.0)
    found = f"only {of} found" if ran_out else f"found {view.found}"
    pct = f" {round(100 * fraction):>3}% · {found}"
    filled, empty = bar(fraction, max(4, width - len(pct)))
    text.append(filled, style="bold" if active else "")
    text.append(empty, style="dim")
    text.append(pct)
    text.append("\n")
    text.append(human_bytes(view.bytes))
    if active:
        text.append(f" · {human_speed(view.speed)}")
        # Rounded up: a file due in 0.4 s is not "00:00" away.
        eta = f"{clock(math.ceil(view.eta))}" if view.eta is not None else "--:--"
        text.append(f" · ETA {eta}")
    text.append("\n")
    if view.error or view.state.failed:
        text.append(error_label(view.error_code, view.state), style="bold red")
        text.append(" (v: full error)" if view.error else "", style="dim")
        text.append("\n")
        text.append(printable(error_cause(view.error)), style="red")
    elif view.last_item_error:
        text.append(printable(view.last_item_error), style="yellow")
    elif view.notice:
        text.append(printable(view.notice), style="dim")
    elif view.transfer is not None:
        url, done, total = view.transfer
        name = printable(url.rsplit("/", 1)[-1])
        part = f"{100 * done // total}%" if total else human_bytes(done)
        text.append(f"downloading {name} · {part}", style="dim")
    elif view.state == "queued":
        text.append("waiting for a free slot", style="dim")
    return text
