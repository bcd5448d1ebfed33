"""The OpenAPI 3.1 description of the HTTP API in :mod:`tuiapp.server`, as plain data.

Tests check that it lists exactly the routes the server has, and fuzz the server from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from tuiapp import __version__
from tuiapp.jobs import MAX_COUNT, JobState, SourceState

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["MAX_ID", "MAX_PAGE", "openapi_document"]

MAX_ID: Final = 2**53 - 1
"""Largest id or offset the API takes (the largest integer every JSON client reads exactly)."""
MAX_PAGE: Final = 500
"""Largest ``limit`` of a list."""

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _responses(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    """``ok`` plus the shared error responses ``errors`` (every endpoint can answer 401)."""
    refs = {str(s): {"$ref": f"#/components/responses/{s}"} for s in sorted({401, *errors})}
    return {**ok, **refs}


def _id_param(what: str) -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "description": f"The {what} id (a whole number; anything else answers 400).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


_PAGING: Final[list[dict[str, Any]]] = [
    {
        "name": "limit",
        "in": "query",
        "description": "How many to return.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
    },
    {
        "name": "offset",
        "in": "query",
        "description": "How many to skip.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0},
    },
]

_SSE: Final = {
    "description": (
        "Server-Sent Events. The first event is `snapshot` (the current state); then one event"
        " per engine event, named by its `kind` (`job_submitted`, `job_started`,"
        " `source_started`, `source_progress`, `transfer_progress`, `asset_stored`,"
        " `item_failed`, `source_finished`, `job_finished`, `job_deleted`), with `data` the"
        " event as JSON and `id` a counter of this stream. Comments (`: ping`) keep the"
        " connection alive. A client too slow to keep up gets an `overflow` event and the"
        " stream ends. Reconnecting with `Last-Event-ID` gives a fresh snapshot"
        " (`reconnected: true`) and ids go on from the last one."
    ),
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}

_LAST_EVENT_ID: Final = {
    "name": "Last-Event-ID",
    "in": "header",
    "description": "The last event id the client saw, when it reconnects.",
    "schema": {"type": "string"},
}

_CONTENT_HEADERS: Final = {
    "ETag": {"description": "The file's sha256, quoted.", "schema": {"type": "string"}},
    "Accept-Ranges": {"schema": {"type": "string", "const": "bytes"}},
    "Content-Length": {"schema": {"type": "integer", "minimum": 0}},
}


def _schemas(sources: Sequence[str]) -> dict[str, Any]:
    source_name: dict[str, Any] = (
        {"type": "string", "enum": list(sources)} if sources else {"type": "string"}
    )
    count = {"type": "integer", "minimum": 0}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "A stable slug."},
                        "message": {"type": "string", "description": "For people."},
                    },
                }
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version"],
            "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
        },
        "User": {
            "type": "object",
            "required": ["id", "name", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "Me": {
            "type": "object",
            "required": ["guest", "user"],
            "properties": {
                "guest": {"type": "boolean"},
                "user": {"oneOf": [_ref("User"), {"type": "null"}]},
            },
        },
        "Source": {
            "type": "object",
            "required": [
                "name",
                "kind",
                "description",
                "takes_query",
                "takes_url",
                "key_setting",
                "configured",
                "base_url",
            ],
            "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string"},
                "description": {"type": "string"},
                "takes_query": {"type": "boolean"},
                "takes_url": {"type": "boolean"},
                "key_setting": {
                    **_nullable("string"),
                    "description": "The setting holding the API key this source needs.",
                },
                "configured": {
                    "type": "boolean",
                    "description": "False when the source needs an API key that is not set.",
                },
                "base_url": {"type": "string"},
            },
        },
        "SourceList": {
            "type": "object",
            "required": ["sources"],
            "properties": {"sources": {"type": "array", "items": _ref("Source")}},
        },
        "JobRequest": {
            "type": "object",
            "required": ["query"],
            "additionalProperties": False,
            "properties": {
                "query": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Search words, or a URL.",
                },
                "sources": {
                    "type": "array",
                    "items": source_name,
                    "uniqueItems": True,
                    "description": (
                        "Sources to search, in order. Leave out when `query` is a URL: the"
                        " source that takes it is picked."
                    ),
                },
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_COUNT,
                    "default": 10,
                    "description": "Files to store per source.",
                },
                "options": {
                    "type": "object",
                    "description": "Per-job options passed to the sources (format, width ...).",
                },
            },
        },
        "CancelRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "source": {
                    "type": "string",
                    "description": "Cancel only this source; leave out to cancel the job.",
                }
            },
        },
        "JobSource": {
            "type": "object",
            "required": ["source", "state", "found", "stored", "failed", "bytes"],
            "properties": {
                "source": {"type": "string"},
                "state": {"type": "string", "enum": [s.value for s in SourceState]},
                "found": count,
                "stored": count,
                "failed": count,
                "bytes": count,
                "error": _nullable("string"),
                "error_code": _nullable("string"),
            },
        },
        "Job": {
            "type": "object",
            "required": [
                "id",
                "query",
                "count",
                "options",
                "state",
                "owner_id",
                "created_at",
                "sources",
                "stored",
                "failed",
                "bytes",
                "href",
                "events_href",
            ],
            "properties": {
                "id": {"type": "integer"},
                "query": {"type": "string"},
                "count": {"type": "integer"},
                "options": {"type": "object"},
                "state": {"type": "string", "enum": [s.value for s in JobState]},
                "owner_id": _nullable("integer"),
                "created_at": {"type": "string", "format": "date-time"},
                "started_at": {"type": ["string", "null"], "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "error": _nullable("string"),
                "rerun_of": _nullable("integer"),
                "stored": count,
                "failed": count,
                "bytes": count,
                "sources": {"type": "array", "items": _ref("JobSource")},
                "href": {"type": "string"},
                "events_href": {"type": "string"},
            },
        },
        "JobList": {
            "type": "object",
            "required": ["jobs", "limit", "offset"],
            "properties": {
                "jobs": {"type": "array", "items": _ref("Job")},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        },
        "Asset": {
            "type": "object",
            "required": [
                "id",
                "job_id",
                "source",
                "url",
                "kind",
                "mime",
                "size",
                "sha256",
                "owner_id",
                "created_at",
                "href",
                "content_href",
            ],
            "properties": {
                "id": {"type": "integer"},
                "job_id": {"type": "integer"},
                "source": {"type": "string"},
                "url": {"type": "string", "description": "Where the file was downloaded from."},
                "page_url": _nullable("string"),
                "title": _nullable("string"),
                "author": _nullable("string"),
                "author_url": _nullable("string"),
                "license": _nullable("string"),
                "width": _nullable("integer"),
                "height": _nullable("integer"),
                "thumbnail_url": _nullable("string"),
                "kind": {"type": "string", "enum": ["image", "video", "audio", "file"]},
                "metadata": {"type": "object"},
                "mime": {"type": "string"},
                "size": count,
                "sha256": {"type": "string"},
                "owner_id": _nullable("integer"),
                "created_at": {"type": "string", "format": "date-time"},
                "href": {"type": "string"},
                "content_href": {"type": "string"},
            },
        },
        "AssetList": {
            "type": "object",
            "required": ["assets", "limit", "offset"],
            "properties": {
                "assets": {"type": "array", "items": _ref("Asset")},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        },
    }


def openapi_document(sources: Sequence[str] = ()) -> dict[str, Any]:
    """The API description; ``sources`` (the registered source names) become an enum."""
    error = _ref("Error")
    job_id = _id_param("job")
    asset_id = _id_param("asset")
    job_body = {"required": True, "content": {_JSON: {"schema": _ref("JobRequest")}}}
    accepted = {
        "202": {
            **_json(_ref("Job"), "The job, queued; `Location` is its URL."),
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    }
    deleted = {"204": {"description": "Deleted."}}
    content_ok: dict[str, dict[str, Any]] = {
        "200": {
            "description": "The whole file, with its stored media type.",
            "headers": _CONTENT_HEADERS,
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        "206": {
            "description": "The requested range (`Content-Range` says which).",
            "headers": {
                **_CONTENT_HEADERS,
                "Content-Range": {"schema": {"type": "string"}},
            },
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        "304": {"description": "`If-None-Match` matched: the client's copy is current."},
    }
    content_params = [
        asset_id,
        {
            "name": "Range",
            "in": "header",
            "description": "One byte range (`bytes=0-99`, `bytes=100-`, `bytes=-100`).",
            "schema": {"type": "string"},
        },
        {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
        {"name": "If-Range", "in": "header", "schema": {"type": "string"}},
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tuiapp",
            "version": __version__,
            "description": (
                "Jobs search many media sources at once and keep what they find. Send"
                " `Authorization: Bearer <token>` to act as a user (`tuiapp user add NAME` prints"
                " a token), or nothing to act as a guest. Each caller sees only its own jobs and"
                " files; another's answer 404."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{}, {"bearer": []}],
        "paths": {
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Is the API up",
                    "security": [],
                    "responses": {"200": _json(_ref("Health"), "Up.")},
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
                }
            },
            "/api/me": {
                "get": {
                    "operationId": "me",
                    "summary": "Who the caller is",
                    "responses": _responses({"200": _json(_ref("Me"), "The user, or guest.")}),
                }
            },
            "/api/sources": {
                "get": {
                    "operationId": "listSources",
                    "summary": "The sources, and whether each has the API key it needs",
                    "responses": _responses({"200": _json(_ref("SourceList"), "The sources.")}),
                }
            },
            "/api/jobs": {
                "get": {
                    "operationId": "listJobs",
                    "summary": "The caller's jobs, newest first",
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "description": "Only jobs in these states (repeat it for several).",
                            "style": "form",
                            "explode": True,
                            "schema": {
                                "type": "array",
                                "items": {"type": "string", "enum": [s.value for s in JobState]},
                            },
                        },
                        {
                            "name": "text",
                            "in": "query",
                            "description": "Words each found in the query, the state or a"
                            " source's name (any case), or the job's id.",
                            "schema": {"type": "string"},
                        },
                        *_PAGING,
                    ],
                    "responses": _responses(
                        {"200": _json(_ref("JobList"), "A page of jobs.")}, 400
                    ),
                },
                "post": {
                    "operationId": "submitJob",
                    "summary": "Start a job",
                    "requestBody": job_body,
                    "responses": _responses(accepted, 400, 413),
                },
            },
            "/api/jobs/{id}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "A job, with the state of each of its sources",
                    "parameters": [job_id],
                    "responses": _responses({"200": _json(_ref("Job"), "The job.")}, 400, 404),
                },
                "delete": {
                    "operationId": "deleteJob",
                    "summary": "Delete a job and its files (a running job is cancelled first)",
                    "parameters": [job_id],
                    "responses": _responses(deleted, 400, 404),
                },
            },
            "/api/jobs/{id}/cancel": {
                "post": {
                    "operationId": "cancelJob",
                    "summary": "Cancel a running job, or one of its sources",
                    "parameters": [job_id],
                    "requestBody": {
                        "required": False,
                        "content": {_JSON: {"schema": _ref("CancelRequest")}},
                    },
                    "responses": _responses(
                        {"202": _json(_ref("Job"), "Cancelling; the job ends `cancelled`.")},
                        400,
                        404,
                        413,
                    ),
                }
            },
            "/api/jobs/{id}/rerun": {
                "post": {
                    "operationId": "rerunJob",
                    "summary": "Run a job again as a new job",
                    "parameters": [job_id],
                    "responses": _responses(accepted, 400, 404),
                }
            },
            "/api/jobs/{id}/events": {
                "get": {
                    "operationId": "jobEvents",
                    "summary": "A job's live events; the stream ends after `job_finished`",
                    "parameters": [job_id, _LAST_EVENT_ID],
                    "responses": _responses({"200": _SSE}, 400, 404),
                }
            },
            "/api/events": {
                "get": {
                    "operationId": "events",
                    "summary": "Live events of all the caller's jobs",
                    "description": "The snapshot lists the caller's queued and running jobs.",
                    "parameters": [_LAST_EVENT_ID],
                    "responses": _responses({"200": _SSE}),
                }
            },
            "/api/assets": {
                "get": {
                    "operationId": "listAssets",
                    "summary": "The caller's stored files, oldest first",
                    "parameters": [
                        {
                            "name": "job_id",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        },
                        {
                            "name": "source",
                            "in": "query",
                            "schema": {"type": "string", "enum": list(sources)}
                            if sources
                            else {"type": "string"},
                        },
                        {
                            "name": "type",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["image", "video", "audio", "file"],
                            },
                        },
                        {
                            "name": "text",
                            "in": "query",
                            "description": "Words in the title.",
                            "schema": {"type": "string"},
                        },
                        *_PAGING,
                    ],
                    "responses": _responses(
                        {"200": _json(_ref("AssetList"), "A page of files.")}, 400
                    ),
                }
            },
            "/api/assets/{id}": {
                "get": {
                    "operationId": "getAsset",
                    "summary": "A stored file's details",
                    "parameters": [asset_id],
                    "responses": _responses({"200": _json(_ref("Asset"), "The file.")}, 400, 404),
                },
                "delete": {
                    "operationId": "deleteAsset",
                    "summary": "Delete a stored file",
                    "parameters": [asset_id],
                    "responses": _responses(deleted, 400, 404),
                },
            },
            "/api/assets/{id}/content": {
                "get": {
                    "operationId": "getAssetContent",
                    "summary": "A stored file's bytes (ranges, ETag)",
                    "parameters": content_params,
                    "responses": _responses(content_ok, 400, 404, 416),
                },
                "head": {
                    "operationId": "headAssetContent",
                    "summary": "A stored file's headers",
                    "parameters": content_params,
                    "responses": _responses(
                        {
                            status: {k: v for k, v in response.items() if k != "content"}
                            for status, response in content_ok.items()
                        },
                        400,
                        404,
                        416,
                    ),
                },
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `tuiapp user add NAME`.",
                }
            },
            "schemas": _schemas(sources),
            "responses": {
                "400": _json(error, "Bad request: the message names the problem."),
                "401": {
                    **_json(error, "A wrong token, or no token while guests are turned off."),
                    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                },
                "404": _json(
                    error, "No such job or asset for this caller (another user's is not found)."
                ),
                "413": _json(error, "The request body is too large."),
                "416": {
                    **_json(error, "The range starts past the end of the file."),
                    "headers": {"Content-Range": {"schema": {"type": "string"}}},
                },
            },
        },
    }
