"""What Textual keeps of widgets that are gone, let go of now and then (:func:`tidy`).

``StylesCache.get_inner_outer`` (Textual 8.2) is an ``lru_cache`` of 1,024 entries on a method
that is not a class method, so each entry keeps a widget's styles cache alive, with the lines it
last drew, after the widget is gone. The Board replaces its panes (and the footer its keys) at
every job, so an app left open holds up to 1,024 dead widgets' lines: in-process, with the Board
following a job a second, 3.8 MB more over 60 jobs, 0.8 MB with the cache emptied. Emptying it
costs a few colour sums at the next paint.

Toasts: a toast's own timer removes it with its holder (the container that places it), but when
its notification expires before that timer fires and another toast comes first, the toast rack
removes the toast alone and its empty holder stays in the screen for good. With a toast per
finished job (a job a second in the terminal soak), about one holder in six stayed: 110 of them
after 14 minutes, with their layouts, and the app grew 12 MB. An empty holder is one that was
mounted (its toast is mounted before the holder counts as mounted) and holds nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App


def _private(module: str, name: str) -> Any:
    """A name from one of Textual's private modules; None if a later 8.x moved it (the app
    still starts, with nothing of it to tidy; tests/test_memory_steady.py says which moved)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):  # pragma: no cover - Textual 8.2 has both
        return None


_STYLES_CACHE = _private("textual._styles_cache", "StylesCache")
_TOAST_HOLDER = _private("textual.widgets._toast", "ToastHolder")

__all__ = ["EVERY", "drop_empty_toast_holders", "forget_render_caches", "tidy"]

EVERY = 30.0
"""Seconds between two tidyings."""


def tidy(app: App[Any]) -> None:
    """Everything below, for the app's timer."""
    forget_render_caches()
    drop_empty_toast_holders(app)


def forget_render_caches() -> None:
    clear = getattr(getattr(_STYLES_CACHE, "get_inner_outer", None), "cache_clear", None)
    if clear is not None:  # a later Textual may make it a plain method again
        clear()


def drop_empty_toast_holders(app: App[Any]) -> int:
    """Remove the toast holders left empty on every screen; returns how many."""
    dropped = 0
    if _TOAST_HOLDER is None:  # pragma: no cover
        return dropped
    # Every mode's screens (the app's modes each keep a stack), not only the one in front.
    stacks = getattr(app, "_screen_stacks", None) or {"": app.screen_stack}
    for screen in {s for stack in stacks.values() for s in stack}:
        for holder in screen.query(_TOAST_HOLDER):
            gone = getattr(holder, "_pruning", False)  # being removed already
            if holder.is_mounted and not holder.children and not gone:
                holder.remove()
                dropped += 1
    return dropped
