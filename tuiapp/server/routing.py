"""The route table: each handler is registered with what the OpenAPI document says about it.

A routes module declares ``table = RouteTable()`` and decorates each handler with
``@table.route(method, path, ...)``: the same call adds the aiohttp route and records an
:class:`Operation` (parameters, request type, response types). :mod:`tuiapp.server.openapi`
builds the document from those records, so a route cannot exist undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["Operation", "Param", "Reply", "RouteTable"]

H = TypeVar("H", bound="Callable[..., Any]")


@dataclass(frozen=True, slots=True)
class Param:
    """One path, query or header parameter.

    Attributes:
        name: as sent.
        where: ``path``, ``query`` or ``header``.
        type: the annotation its JSON schema comes from (``int``, an enum, a ``Literal`` ...).
        description: for people.
        default: what leaving it out means (None: nothing to say).
        source_name: the value is a registered source's name (an enum in the document).
    """

    name: str
    where: str
    type: Any
    description: str = ""
    default: Any = None
    source_name: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented answer.

    Attributes:
        description: for people.
        body: the vocabulary type of a JSON body; None for no body or for ``media``.
        media: the media type of a body that is not JSON (event streams, stored files).
        headers: response headers worth naming, with the type of each.
    """

    description: str
    body: Any = None
    media: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """What the document says about one method on one path."""

    method: str
    path: str
    name: str
    """The operationId."""
    summary: str
    description: str = ""
    params: tuple[Param, ...] = ()
    body: Any = None
    """The request type of a JSON body; None when the route reads no body."""
    body_required: bool = True
    replies: Mapping[int, Reply]
    errors: tuple[int, ...] = ()
    """Error statuses this route answers beyond the ones every route can."""
    public: bool = False
    """Needs no credentials (and so never answers 401)."""


class RouteTable:
    """aiohttp routes plus the :class:`Operation` of each."""

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()
        self.operations: list[Operation] = []

    def route(
        self, method: str, path: str, *, name: str, summary: str, **about: Any
    ) -> Callable[[H], H]:
        """Register the decorated handler for ``method path``; ``about``: :class:`Operation`."""

        def register(handler: H) -> H:
            # HEAD is registered (and documented) on its own where a route answers it.
            extra = {"allow_head": False} if method == "GET" else {}
            self.routes.route(method, path, **extra)(handler)
            self.operations.append(
                Operation(method=method, path=path, name=name, summary=summary, **about)
            )
            return handler

        return register
