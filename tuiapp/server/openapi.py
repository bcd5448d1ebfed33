"""The OpenAPI 3.1 document, generated: schemas from the vocabulary, paths from the route tables.

Nothing here describes a field by hand. Component schemas come from the engine's dataclasses
(:mod:`tuiapp.jobs`, :mod:`tuiapp.events`), the request types (:mod:`tuiapp.api_types`) and the
API's own response shapes (:mod:`tuiapp.server.shapes`); each path comes from the
:class:`~tuiapp.server.routing.Operation` its handler was registered with.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from tuiapp import __version__
from tuiapp.api_types import (
    CancelRequest,
    JobRequest,
    SignInRequest,
    WatchChange,
    WatchRequest,
    json_schemas,
    property_schema,
    schema_of,
)
from tuiapp.events import EVENT_TYPES
from tuiapp.jobs import AssetInfo, JobInfo, JobSourceInfo, SourceInfo, UserInfo
from tuiapp.server.middleware import JSON_METHODS
from tuiapp.server.shapes import (
    AssetLinks,
    AssetList,
    Error,
    Health,
    JobLinks,
    JobList,
    Me,
    SourceList,
    WatchLinks,
    WatchList,
)
from tuiapp.watches import WatchInfo

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tuiapp.server.routing import Operation, Param, Reply

__all__ = ["VOCABULARY", "build_document"]

_JSON: Final = "application/json"
_REF: Final = "#/components/schemas/{name}"

VOCABULARY: Final[dict[str, type[Any]]] = {
    "Job": JobInfo,
    "JobSource": JobSourceInfo,
    "Asset": AssetInfo,
    "Source": SourceInfo,
    "User": UserInfo,
    "Me": Me,
    "Health": Health,
    "SourceList": SourceList,
    "JobList": JobList,
    "AssetList": AssetList,
    "Watch": WatchInfo,
    "WatchList": WatchList,
    "Error": Error,
    **{cls.__name__: cls for cls in EVENT_TYPES.values()},
}
"""Component name -> the type its schema is generated from."""
REQUESTS: Final = (JobRequest, CancelRequest, SignInRequest, WatchRequest, WatchChange)

_EXTENDED: Final[dict[str, tuple[type[Any], tuple[str, ...], type[Any]]]] = {
    # Component: (its type, the properties its to_dict() adds, the links the API adds).
    "Job": (JobInfo, ("stored", "failed", "bytes", "known"), JobLinks),
    "Asset": (AssetInfo, (), AssetLinks),
    "Watch": (WatchInfo, (), WatchLinks),
}

_ERRORS: Final[dict[int, str]] = {
    400: "Bad request: the message names the problem.",
    401: "A wrong token, or no token while guests are turned off.",
    404: "No such job, asset or watch for this caller (another user's is not found).",
    403: "The request came from a web page of another site (a foreign `Origin`), or changes"
    " something with the session cookie but names no `Origin`.",
    413: "The request body is too large.",
    415: "A POST without `Content-Type: application/json` (a body or not).",
    416: "The range starts past the end of the file.",
    421: "`Host` names no address this server answers to (a page's DNS rebinding, say).",
    500: "A bug: the details are in the server's log, never in the answer.",
    503: "The database cannot be reached just now (restarting, cut off): try again after"
    " `Retry-After` seconds.",
}
_ERROR_HEADERS: Final[dict[int, dict[str, Any]]] = {
    401: {"WWW-Authenticate": str},
    503: {"Retry-After": str},
    416: {"Content-Range": str},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _name_of(kind: Any) -> str:
    """The component a type is listed under (its own name when it has no other)."""
    names = {cls: name for name, cls in VOCABULARY.items()}
    return names.get(kind, getattr(kind, "__name__", ""))


def _body_schema(kind: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(kind):
        return _ref(_name_of(kind))
    return schema_of(kind)


def _headers(headers: dict[str, Any]) -> dict[str, Any]:
    return {name: {"schema": schema_of(kind)} for name, kind in headers.items()}


def _schemas(sources: Sequence[str]) -> dict[str, Any]:
    schemas = json_schemas(VOCABULARY, requests=REQUESTS, ref_template=_REF)
    for name, (kind, computed, links) in _EXTENDED.items():
        schema = schemas[name]
        added = {p: property_schema(kind, p) for p in computed}
        added |= json_schemas({links.__name__: links})[links.__name__]["properties"]
        schema["properties"] |= added
        schema["required"] = [*schema["required"], *added]
    if sources:
        picked = schemas["JobRequest"]["properties"]["sources"]
        picked["items"] = {"type": "string", "enum": list(sources)}
        picked["uniqueItems"] = True
    return schemas


def _parameter(param: Param, sources: Sequence[str]) -> dict[str, Any]:
    schema = schema_of(param.type)
    if param.source_name and sources:
        schema = {"type": "string", "enum": list(sources)}
    if param.default is not None:
        schema["default"] = param.default
    out: dict[str, Any] = {"name": param.name, "in": param.where, "schema": schema}
    if param.where == "path":
        out["required"] = True
    if schema.get("type") == "array":
        out |= {"style": "form", "explode": True}
    if param.description:
        out["description"] = param.description
    return out


def _reply(reply: Reply) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description}
    if reply.headers:
        out["headers"] = _headers(dict(reply.headers))
    if reply.body is not None:
        out["content"] = {_JSON: {"schema": _body_schema(reply.body)}}
    elif reply.media == "*/*":
        out["content"] = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    elif reply.media is not None:
        out["content"] = {reply.media: {"schema": {"type": "string"}}}
    return out


def error_statuses(op: Operation) -> list[int]:
    """Every error status ``op`` can answer: its own, and those every route can."""
    statuses = {*op.errors, 403, 421, 500}
    if not op.public:  # every route but the service's own reads the database
        statuses.add(503)
    if not op.public:
        statuses.add(401)
    if op.body is not None:
        statuses |= {400, 413}
    if op.method in JSON_METHODS:
        statuses.add(415)
    return sorted(statuses)


def _operation(op: Operation, sources: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.name, "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if op.public:
        out["security"] = []
    if op.params:
        out["parameters"] = [_parameter(p, sources) for p in op.params]
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {_JSON: {"schema": _ref(_name_of(op.body))}},
        }
    responses = {str(status): _reply(reply) for status, reply in sorted(op.replies.items())}
    for status in error_statuses(op):
        responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
    out["responses"] = responses
    return out


def build_document(operations: Iterable[Operation], sources: Sequence[str] = ()) -> dict[str, Any]:
    """The API description of ``operations``; ``sources`` (source names) become an enum."""
    operations = list(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, sources)
    used = sorted({s for op in operations for s in error_statuses(op)})
    responses: dict[str, Any] = {}
    for status in used:
        responses[str(status)] = {
            "description": _ERRORS[status],
            "content": {_JSON: {"schema": _ref("Error")}},
        }
        if status in _ERROR_HEADERS:
            responses[str(status)]["headers"] = _headers(_ERROR_HEADERS[status])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tuiapp",
            "version": __version__,
            "description": (
                "Jobs search many media sources at once and keep what they find. Send"
                " `Authorization: Bearer <token>` to act as a user (`tuiapp user add NAME` prints"
                " a token), or nothing to act as a guest. Each caller sees only its own jobs and"
                " files; another's answer 404. Every schema here is generated from the types the"
                " server itself uses."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `tuiapp user add NAME`.",
                }
            },
            "schemas": _schemas(sources),
            "responses": responses,
        },
    }
