"""Numbers as people read them (sizes, speeds, durations, states), and remote text as data."""

from __future__ import annotations

from rich.text import Text

from tuiapp.text import human_bytes, printable

__all__ = [
    "bar",
    "clock",
    "dimensions",
    "human_bytes",
    "human_speed",
    "remote",
    "short_list",
    "state_style",
    "state_words",
]


_STATE_WORDS = {"timed_out": "timed out"}

_STATE_STYLES = {
    "done": "bold green",
    "partial": "bold dark_orange",
    "failed": "bold red",
    "blocked": "bold red",
    "timed_out": "bold red",
    "interrupted": "bold red",
    "cancelled": "bold yellow",
    "running": "bold",
}
"""One colour per end state, the same on the Board, in History, job details and toasts:
``partial`` (something stored, some source failed) is orange, apart from done and failed."""


def human_speed(bytes_per_second: float) -> str:
    return f"{human_bytes(bytes_per_second)}/s"


def clock(seconds: float) -> str:
    """``75.3`` -> ``"01:15"``; hours appear when needed."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def state_words(state: str) -> str:
    """An engine state slug as words (``timed_out`` -> ``timed out``)."""
    return _STATE_WORDS.get(state, state)


def state_style(state: str) -> str:
    """The Rich style a job or source state is shown in (plain for the in-between states)."""
    return _STATE_STYLES.get(state, "")


def bar(fraction: float, width: int) -> tuple[str, str]:
    """A progress bar ``width`` cells wide: (the filled part, the empty part)."""
    width = max(0, width)
    filled = min(width, max(0, round(width * fraction)))
    return "━" * filled, "─" * (width - filled)


def short_list(names: list[str] | tuple[str, ...], width: int) -> str:
    """``names`` joined by commas, or as many as fit with ``+N`` for the rest."""
    joined = ",".join(names)
    if len(joined) <= width or not names:
        return joined
    for shown in range(len(names) - 1, 0, -1):
        text = ",".join(names[:shown]) + f" +{len(names) - shown}"
        if len(text) <= width:
            return text
    return f"{len(names)} sources" if len(names) > 1 else names[0][: max(1, width - 1)] + "…"


def dimensions(width: int | None, height: int | None) -> str:
    """``"1200x800"`` (with a multiplication sign), or empty when either is unknown."""
    return f"{width}×{height}" if width and height else ""


def remote(text: str | None, style: str = "") -> Text:
    """Text from outside (a title, an author, a URL, an error) as a cell or label shows it.

    A ``Text`` is never parsed as markup (a plain ``str`` in a ``DataTable``, a Rich ``Table``
    or ``Static.update`` is: ``[link=...]`` in a title would become a link), and control
    characters are escaped by :func:`~tuiapp.text.printable`.
    """
    return Text(printable(text or ""), style=style)
