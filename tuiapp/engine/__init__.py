"""The job engine: clients use :class:`Engine`; the rooms behind it are its own.

Rooms, each depending only on those below it:
- ``service``: :class:`Engine`, the facade that wires the others.
- ``cluster``: the shared queue (relay, cancels from elsewhere, claims, leases).
- ``export``: stored files out to a folder or a zip stream, named, with sidecars and credits.
- ``doctor``: what this installation can and cannot do.
- ``runner``: ``JobRun``, one running job: its sources side by side, its budget, its end.
- ``source_run``: ``SourceRun``, one source of a running job: search, download, store, count.
- ``transfer``: one item's bytes into a sink (HTTP or a source's own downloader).
- ``runtime``: what all runs share (tools, the book of running jobs) and how a worker holds a job.
"""

from __future__ import annotations

from tuiapp.bus import Subscription
from tuiapp.engine.doctor import Check, DoctorReport, SourceCheck
from tuiapp.engine.export import FIELDS, ExportOptions, check_template, export_name
from tuiapp.engine.runner import is_url
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
]
