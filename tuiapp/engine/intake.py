"""The front door for jobs: what a user gave, checked and routed into the spec a job runs.

Every client hands the engine the job as its user typed it (:class:`~tuiapp.jobs.JobSpec` with
the sources possibly empty, in any case, or as ``a,b`` lists) and shows what :func:`admit`
refuses: the CLI exits 2 with the sentence, the HTTP API answers 400 with it, the TUI shows it.
No client routes or checks a job on its own.

Routing: the sources named, else the source that claims a URL, else for search words the
default sources (``TUIAPP_DEFAULT_SOURCES``, else the keyless image search sources ready here).
Only the registry's declarations are read (no site library is loaded to check a name).
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import TYPE_CHECKING

from tuiapp import sources as registry
from tuiapp.engine.doctor import source_needs
from tuiapp.engine.runtime import is_url
from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import MAX_COUNT

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tuiapp.config import Settings
    from tuiapp.jobs import JobSpec

__all__ = ["admit", "default_sources", "source_names"]

MAX_QUERY = 2000
"""The longest query taken, in characters (a long URL fits; a pasted page does not)."""


def admit(spec: JobSpec, settings: Settings) -> JobSpec:
    """The job ``spec`` asks for, checked, with its sources named and its options typed.

    Raises:
        InvalidRequestError: one sentence saying what to change: an empty query ("type a
            query"), an unknown source, a source named twice, search words for a source that
            takes only URLs, a count out of bounds, an option no picked source takes or a value
            a source refuses.
    """
    query = spec.query.strip()
    if not query:
        raise InvalidRequestError("type a query")
    if len(query) > MAX_QUERY:
        raise InvalidRequestError(f"the query is longer than {MAX_QUERY} characters")
    if not 1 <= spec.count <= MAX_COUNT:
        raise InvalidRequestError(f"count must be from 1 to {MAX_COUNT}, not {spec.count}")
    url = is_url(query)
    picked = source_names(spec.sources)
    if not picked:
        picked = _routed(query) if url else default_sources(settings)
    if not url:
        for name in picked:
            if not registry.get(name).takes_query:
                raise InvalidRequestError(f"{name} takes a URL, not search words")
    options = registry.check_options(picked, spec.options)
    return replace(spec, query=query, sources=picked, options=options)


def source_names(given: Iterable[str]) -> tuple[str, ...]:
    """Source names as the registry spells them: any case, ``a,b`` lists split (``a,`` is a).

    Raises:
        InvalidRequestError: a blank name, a name no source has (with the nearest one when
            there is one), or a source named twice.
    """
    names: list[str] = []
    for item in given:
        if not item.strip():
            raise InvalidRequestError("a source name is empty; see `tuiapp sources`")
        for part in item.split(","):
            name = part.strip().lower()
            if not name:
                continue
            try:
                registry.get(name)  # the declarations only: no site library is loaded
            except InvalidRequestError:
                near = difflib.get_close_matches(name, registry.names(), n=1, cutoff=0.6)
                hint = f"did you mean {near[0]}?" if near else "see `tuiapp sources`"
                raise InvalidRequestError(f"unknown source {part.strip()!r:.40}; {hint}") from None
            if name in names:
                raise InvalidRequestError(f"{name} is named twice")
            names.append(name)
    return tuple(names)


def _routed(url: str) -> tuple[str, ...]:
    found = registry.find(url)
    if found is None:  # `direct` takes every http(s) URL; kept should it ever be left out
        raise InvalidRequestError(f"no source takes {url!r:.80} as a URL; pick one")
    return (found.name,)


def default_sources(settings: Settings) -> tuple[str, ...]:
    """The sources search words go to when none is named: ``TUIAPP_DEFAULT_SOURCES``, else the
    keyless image search sources whose needs are met here (checked without the network).

    Raises:
        InvalidRequestError: the setting names an unknown source, or no source is ready.
    """
    if settings.default_sources:
        try:
            return source_names(settings.default_sources)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"TUIAPP_DEFAULT_SOURCES: {exc}") from None
    ready = tuple(
        cls.name
        for cls in registry.all_sources()
        if cls.kind == "image_search"
        and cls.key_setting is None
        and all(need.ok for need in source_needs(cls, settings))
    )
    if not ready:
        raise InvalidRequestError("pick at least one source (see `tuiapp sources`)")
    return ready
