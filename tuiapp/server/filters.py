"""The search filters of the asset routes (`GET /api/assets`, `GET /api/assets.zip`): their
documentation and their parsing into a :class:`~tuiapp.jobs.Selection`."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal

from msgspec import Meta

from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import Selection
from tuiapp.server.common import ENGINE_KEY, MAX_ID, Id, optional_int
from tuiapp.server.routing import Param

if typing.TYPE_CHECKING:
    from aiohttp import web

__all__ = ["ASSET_KINDS", "FILTER_PARAMS", "AssetKind", "flag", "selection"]

AssetKind = Literal["image", "video", "audio", "file"]
ASSET_KINDS: Final = typing.get_args(AssetKind)
MAX_SIDE: Final = 1_000_000
MAX_TEXT: Final = 500

_Side = Annotated[int, Meta(ge=1, le=MAX_SIDE)]

FILTER_PARAMS: Final = (
    Param(
        "text",
        "query",
        Annotated[str, Meta(max_length=MAX_TEXT)],
        "Words that must all appear in the title, author, source, the job's query, the page's"
        " URL or the licence (any case and accents; `dog` finds `Dogs`; the last word may be"
        " the start of one). Results come best match first.",
    ),
    Param(
        "similar_to",
        "query",
        Id,
        "Only pictures whose perceptual hash is within the near-duplicate distance of this"
        " asset's, nearest first.",
    ),
    Param("job_id", "query", Id, "Only the files of this job."),
    Param("source", "query", str, "Only the files of this source.", source_name=True),
    Param("kind", "query", AssetKind, "Only files of this kind."),
    Param("type", "query", AssetKind, "The same as `kind` (its older name)."),
    Param("min_width", "query", _Side, "Only files at least this many pixels wide."),
    Param("min_height", "query", _Side, "Only files at least this many pixels high."),
    Param(
        "since",
        "query",
        str,
        "Only files stored at or after this date (`2026-12-01`) or time (ISO 8601; UTC when no"
        " offset is given).",
    ),
    Param(
        "unique",
        "query",
        bool,
        "Leave out near-duplicates: files whose `duplicate_of` names a better copy.",
    ),
)


def flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidRequestError(f"{name} must be true or false, not {value!r:.40}")
    return value in ("true", "1")


def _since(raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"since must be a date (2026-12-01) or an ISO 8601 time, not {raw!r:.40}"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def selection(request: web.Request, *, job_id: int | None = None) -> Selection:
    """The filters of ``request`` (``job_id`` fixed by the path when given).

    Raises:
        InvalidRequestError: a value out of range, an unknown source or kind, a bad date.
    """
    query = request.query
    text = query.get("text") or None
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidRequestError(f"text is limited to {MAX_TEXT} characters")
    source = query.get("source")
    known = [s.name for s in request.app[ENGINE_KEY].sources()]
    if source is not None and source not in known:
        raise InvalidRequestError(f"unknown source {source!r:.40}; known: {', '.join(known)}")
    kind = None
    for name in ("kind", "type"):
        value = query.get(name)
        if value is None:
            continue
        if value not in ASSET_KINDS:
            raise InvalidRequestError(
                f"{name} must be one of {', '.join(ASSET_KINDS)}, not {value!r:.40}"
            )
        if kind is not None and value != kind:
            raise InvalidRequestError("kind and type disagree; send one of them")
        kind = value
    return Selection(
        job_id=job_id if job_id is not None else optional_int(request, "job_id", 1, MAX_ID),
        text=text,
        source=source,
        kind=kind,
        min_width=optional_int(request, "min_width", 1, MAX_SIDE),
        min_height=optional_int(request, "min_height", 1, MAX_SIDE),
        since=_since(query.get("since")),
        similar_to=optional_int(request, "similar_to", 1, MAX_ID),
        unique=flag(request, "unique"),
    )
