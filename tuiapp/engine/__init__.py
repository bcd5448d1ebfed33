"""The job engine: clients use :class:`Engine`; the rooms behind it are its own.

Rooms, each depending only on those below it (the layers contract in ``pyproject.toml``):
- ``service``: :class:`Engine`, the facade that wires the others.
- ``intake``: the front door for jobs: what a user gave, checked and routed.
- ``cluster``: the shared queue (relay, cancels from elsewhere, claims, leases).
- ``export``: stored files out to a folder or a zip stream, named, with sidecars and credits.
- ``doctor``: what this installation can and cannot do.
- ``runner``: ``JobRun``, one running job: its sources side by side, its budget, its end.
- ``source_run``: ``SourceRun``, one source of a running job: search, download, store, count.
- ``near_duplicates``: which stored pictures are fingerprinted and when; the write path's hook.
- ``transfer``: one item's bytes into a sink (HTTP or a source's own downloader).
- ``runtime``: what all runs share (tools, the book of running jobs) and how a worker holds a job.
- ``hash_process``: the process a picture's pixels are decoded in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuiapp.bus import Subscription
    from tuiapp.engine.doctor import Check, DoctorReport, SourceCheck, source_infos
    from tuiapp.engine.export import FIELDS, ExportOptions, check_template, export_name
    from tuiapp.engine.runtime import is_url
    from tuiapp.engine.service import Engine

__all__ = [
    "FIELDS",
    "Check",
    "DoctorReport",
    "Engine",
    "ExportOptions",
    "SourceCheck",
    "Subscription",
    "check_template",
    "export_name",
    "is_url",
    "source_infos",
]

# Each name is loaded from its room when first asked for (PEP 562): `tuiapp sources` needs the
# source list, not the downloaders, the database layer and their libraries behind `Engine`.
_ROOMS = {
    "Subscription": "tuiapp.bus",
    "Check": "tuiapp.engine.doctor",
    "DoctorReport": "tuiapp.engine.doctor",
    "SourceCheck": "tuiapp.engine.doctor",
    "source_infos": "tuiapp.engine.doctor",
    "FIELDS": "tuiapp.engine.export",
    "ExportOptions": "tuiapp.engine.export",
    "check_template": "tuiapp.engine.export",
    "export_name": "tuiapp.engine.export",
    "is_url": "tuiapp.engine.runtime",
    "Engine": "tuiapp.engine.service",
}


def __getattr__(name: str) -> Any:
    room = _ROOMS.get(name)
    if room is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(room), name)
    globals()[name] = value
    return value
