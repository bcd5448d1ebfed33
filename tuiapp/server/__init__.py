"""The embedded HTTP API: JSON over jobs, assets and sources, live events as Server-Sent Events.

A thin client of the engine, like the TUI and the CLI: each handler parses the request, calls one
engine method and answers with JSON. Every caller acts as a user (``Authorization: Bearer``) or as
a guest (no header); the engine's methods are owner-scoped, so another owner's job or asset is
simply not found. The rooms:

- ``app``: :func:`create_app` (tests use it), :func:`start_server` (the TUI and ``tuiapp serve``).
- ``routing``: the route table each handler is registered in, with what the document says of it.
- ``routes_service``, ``routes_jobs``, ``routes_assets``, ``sse``: the handlers.
- ``common`` (keys, parsing, the caller), ``middleware`` (errors), ``ranges``, ``shapes``
  (response bodies that are not engine types), ``openapi`` (the generated document).
"""

from __future__ import annotations

from tuiapp.server.app import RunningServer, create_app, openapi_document, start_server

__all__ = ["RunningServer", "create_app", "openapi_document", "start_server"]
