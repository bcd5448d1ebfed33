"""Textual's render caches that outlive the widgets they were made for, emptied now and then.

``StylesCache.get_inner_outer`` (Textual 8.2) is an ``lru_cache`` of 1,024 entries on a method
that is not a class method, so each entry keeps a widget's styles cache alive, with the lines it
last drew, after the widget is gone. The Board replaces its panes (and the footer its keys) at
every job, so an app left open holds up to 1,024 dead widgets' lines: in-process, with the Board
following a job a second, 3.8 MB more over 60 jobs, 0.8 MB with the cache emptied. Emptying it
costs a few colour sums at the next paint.
"""

from __future__ import annotations

from textual._styles_cache import StylesCache

__all__ = ["EVERY", "forget_render_caches"]

EVERY = 30.0
"""Seconds between two emptyings."""


def forget_render_caches() -> None:
    clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if clear is not None:  # a later Textual may make it a plain method again
        clear()
