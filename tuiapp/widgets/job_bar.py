"""The bar above the dashboard's panes: which job, its state, elapsed time against the budget."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tuiapp.text import printable
from tuiapp.widgets.formatting import clock, human_bytes, state_words

__all__ = ["JobBar"]


class JobBar(Widget):
    """Two lines: the job and its totals, then elapsed time against GLOBAL_JOB_TIMEOUT."""

    DEFAULT_CSS = """
    JobBar { height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._line: tuple[object, ...] = ()
        self._text = Text("No job yet: press n to start one.", style="dim")

    def show(
        self,
        *,
        job_id: int,
        query: str,
        state: str,
        elapsed: float,
        timeout: float,
        stored: int,
        failed: int,
        size: int,
    ) -> None:
        """Update the bar; it redraws only when what it shows changed (elapsed in whole seconds)."""
        line = (job_id, query, state, int(elapsed), timeout, stored, failed, size, self.size.width)
        if line == self._line:
            return
        self._line = line
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"Job {job_id} ", style="bold")
        text.append(f"“{printable(query)}” ")
        text.append(state_words(state), style=_state_style(state))
        text.append(f"   {stored} stored  {failed} failed  {human_bytes(size)}")
        text.append("\n")
        label = f" {clock(elapsed)} / {clock(timeout)}"
        width = max(10, self.size.width - len(label) - 2)
        filled = min(width, round(width * elapsed / timeout)) if timeout > 0 else 0
        text.append("▕")
        text.append("█" * filled, style="bold" if state == "running" else "dim")
        text.append("░" * (width - filled), style="dim")
        text.append("▏")
        text.append(label)
        self._text = text
        self.refresh()

    def clear(self) -> None:
        self._line = ()
        self._text = Text("No job yet: press n to start one.", style="dim")
        self.refresh()

    def render(self) -> Text:
        return self._text


def _state_style(state: str) -> str:
    if state == "done":
        return "bold green"
    if state in {"failed", "timed_out", "interrupted"}:
        return "bold red"
    if state == "cancelled":
        return "bold yellow"
    return "bold"
