"""The ordered registry of sources: one module per site, imported only when first needed."""

from __future__ import annotations

import importlib
from functools import cache

from tuiapp.errors import InvalidRequestError
from tuiapp.sources.base import Source

__all__ = ["MODULES", "Source", "all_sources", "find", "get", "names"]

MODULES: tuple[str, ...] = (
    # URL matching tries sources in this order: specific sites first.
    "picsum",
    "placeholder",
    "dummyimage",
    "robohash",
    # Keyless image search (scraped pages; most stable first).
    "bing_images",
    "duckduckgo_images",
    "yahoo_images",
    "yandex_images",
    "google_images",
    # Image APIs that need the user's key.
    "unsplash",
    "pexels",
    "pixabay",
    # Video through yt-dlp.
    "youtube",
    "dailymotion",
    "vimeo",
    "tiktok",
    "twitch",
    # The fallback: any other http(s) URL, downloaded as one file. It must stay last, since it
    # matches every URL and ``find`` takes the first match.
    "direct",
)
"""Module names under ``tuiapp.sources``; each defines exactly one source named like its module."""


@cache
def _load(module: str) -> type[Source]:
    mod = importlib.import_module(f"{__name__}.{module}")
    found = [
        obj
        for obj in vars(mod).values()
        if isinstance(obj, type)
        and issubclass(obj, Source)
        and obj.__module__ == mod.__name__
        and "name" in obj.__dict__
    ]
    if len(found) != 1:
        raise RuntimeError(f"{mod.__name__} must define exactly one source, found {len(found)}")
    return found[0]


def all_sources() -> list[type[Source]]:
    return [_load(m) for m in MODULES]


def names() -> tuple[str, ...]:
    return MODULES


def get(name: str) -> type[Source]:
    """The source called ``name``.

    Raises:
        InvalidRequestError: no source has that name.
    """
    if name not in MODULES:
        raise InvalidRequestError(f"unknown source {name!r}; known: {', '.join(MODULES)}")
    return _load(name)


def find(url: str) -> type[Source] | None:
    """The first source whose URL pattern matches ``url``."""
    for cls in all_sources():
        if cls.matches(url):
            return cls
    return None
