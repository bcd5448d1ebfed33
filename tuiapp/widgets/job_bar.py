"""The bar above the Board's panes: which job and its state, overall progress, the time budget."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tuiapp.text import printable
from tuiapp.widgets.formatting import bar, clock, human_bytes, state_style, state_words

__all__ = ["EMPTY_HINT", "JobBar"]

EMPTY_HINT = "No job yet: press n to start one."


class JobBar(Widget):
    """Two lines: the job and its totals, then overall progress with the time budget beside it.

    The bar measures files stored against what the job asks, or against what exists once the
    sources have run out ("only N found"); the time is elapsed against GLOBAL_JOB_TIMEOUT, in
    words, never as a bar.
    """

    DEFAULT_CSS = """
    JobBar { height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._line: tuple[object, ...] = ()
        self._text = Text(EMPTY_HINT, style="dim")

    def show(
        self,
        *,
        job_id: int,
        query: str,
        state: str,
        elapsed: float,
        timeout: float,
        stored: int,
        target: int,
        failed: int,
        size: int,
        progress: float,
        only_found: int | None = None,
    ) -> None:
        """Update the bar; it redraws only when what it shows changed (elapsed in whole seconds)."""
        line = (
            job_id,
            query,
            state,
            int(elapsed),
            timeout,
            stored,
            target,
            failed,
            size,
            round(progress, 3),
            only_found,
            self.size.width,
        )
        if line == self._line:
            return
        self._line = line
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"Job {job_id} ", style="bold")
        text.append(f"“{printable(query)}” ")
        text.append(state_words(state), style=state_style(state) or "bold")
        text.append(f" · {stored} of {target} stored")
        if only_found is not None:
            text.append(f" · only {only_found} found", style="yellow")
        if failed:
            text.append(" · ")
            text.append(f"{failed} failed", style="red")
        text.append(f" · {human_bytes(size)}")
        text.append("\n")
        budget = f"  time {clock(elapsed)} of {clock(timeout)}"
        pct = f" {round(100 * progress):>3}%"
        width = max(6, self.size.width - len("Progress ") - len(pct) - len(budget))
        filled, empty = bar(progress, width)
        text.append("Progress ", style="bold")
        text.append(filled, style="bold" if state == "running" else "")
        text.append(empty, style="dim")
        text.append(pct)
        over = timeout > 0 and elapsed > 0.8 * timeout and state == "running"
        text.append(budget, style="bold yellow" if over else "dim")
        self._text = text
        self.refresh()

    def clear(self) -> None:
        self._line = ()
        self._text = Text(EMPTY_HINT, style="dim")
        self.refresh()

    def render(self) -> Text:
        return self._text
