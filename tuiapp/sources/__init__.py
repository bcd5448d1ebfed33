"""The ordered registry of sources: one module per site, imported only when first needed.

A lookup reads declarations only: a site module defines its class's attributes (``kind``,
``takes_query``, ``pattern`` behind ``takes_url()``, ``options``, ``key_setting``, ``base_url``)
and imports no heavy library at module level; yt-dlp, an impersonating client or Pillow load
when a job runs the source. So "is this a source" (:func:`get`, :func:`names`), "which source
takes this URL" (:func:`find`), "its options" (:func:`check_options`) and "its key" cost a few
milliseconds and no yt-dlp (``tests/test_light_imports.py`` keeps it so). What a source needs
on this machine (``engine.doctor.source_needs``) is another matter: for the sites that need TLS
impersonation it asks yt-dlp which browsers it can impersonate.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

from tuiapp.errors import InvalidRequestError
from tuiapp.sources.base import Source, is_set

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "MODULES",
    "Source",
    "all_sources",
    "check_options",
    "find",
    "get",
    "names",
    "options_markdown",
]

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


def check_options(source_names: Iterable[str], options: Mapping[str, Any]) -> dict[str, Any]:
    """Check a job's options against the sources it picked, before the job is created.

    An option must be declared by at least one picked source, and its value must be valid for
    every picked source that declares it. The job keeps each value as the sources will read it
    (``"1200"`` becomes ``1200``) when they all read it the same way, else as it was given; an
    empty value (``-o size=``, null) is dropped, so each source's default applies.

    Raises:
        InvalidRequestError: an unknown source, an option no picked source takes ("no picked
            source takes option 'colour'; picsum takes width"), or a value a source refuses.
    """
    picked = [get(name) for name in source_names]
    kept: dict[str, Any] = {}
    for key, value in options.items():
        takers = [cls for cls in picked if cls.option(key) is not None]
        if not takers:
            raise InvalidRequestError(_unknown_option(key, picked))
        if not is_set(value):
            continue
        seen = {_typed(opt.convert(cls.name, value)) for cls in takers if (opt := cls.option(key))}
        kept[key] = next(iter(seen))[1] if len(seen) == 1 else value
    return kept


def _typed(value: Any) -> tuple[str, Any]:
    # 1 == 1.0 == True in a set: keep the types apart so a mixed reading keeps the raw value.
    return type(value).__name__, value


def _unknown_option(key: str, picked: list[type[Source]]) -> str:
    declared = [o.name for cls in picked for o in cls.options]
    near = difflib.get_close_matches(key, declared, n=1, cutoff=0.7)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    takes = "; ".join(
        f"{cls.name} takes " + (", ".join(o.name for o in cls.options) or "no options")
        for cls in picked
    )
    return f"no picked source takes option {key!r}{hint}; {takes}"


def options_markdown() -> str:
    """The README's table of every source's options, made from the declarations.

    Sources that declare the same options share a row group; sources without options are named
    after the table.
    """
    groups: dict[tuple[Any, ...], list[str]] = {}
    for cls in all_sources():
        groups.setdefault(cls.options, []).append(cls.name)
    lines = ["| sources | option | takes | what it does |", "|---|---|---|---|"]
    for declared, owners in groups.items():
        for i, option in enumerate(declared):
            who = ", ".join(f"`{name}`" for name in owners) if i == 0 else ""
            expects = option.expects().replace("|", "\\|")
            lines.append(f"| {who} | `{option.name}` | {expects} | {option.help} |")
    bare = groups.get((), [])
    if bare:
        lines.append("")
        lines.append("Take no options: " + ", ".join(f"`{name}`" for name in bare) + ".")
    return "\n".join(lines) + "\n"
