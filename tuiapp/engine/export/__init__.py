"""Export: stored files taken out of the library, to a folder or as a zip stream.

- ``plan``: which files, in what order, under which names, with their sidecars and credits.
- ``naming``: the default name, ``--name`` templates made safe, numbered collisions.
- ``credits``: the attribution each source's terms ask for (``CREDITS.md``, ``credits.json``).
- ``folder``: writing to a directory (never through a symlink, never overwriting unless asked).
- ``zipping``: the same files as a zip stream, memory flat, nothing on disk.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tuiapp.engine.export.folder import export_one, export_plan, other_copies
from tuiapp.engine.export.naming import FIELDS, Template, export_name, safe_part
from tuiapp.engine.export.plan import Plan, checked_template, sidecar
from tuiapp.engine.export.zipping import zip_stream
from tuiapp.jobs import Exported, ExportOptions, Selection

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tuiapp.storage import Storage

__all__ = [
    "FIELDS",
    "ExportOptions",
    "Template",
    "check_template",
    "export_asset",
    "export_job",
    "export_name",
    "export_to",
    "safe_part",
    "sidecar",
    "zip_of",
]


def check_template(template: str | None) -> None:
    """Raises :class:`InvalidRequestError` naming what is wrong with a ``--name`` template."""
    if template is not None:
        Template(template)


async def _plan(
    storage: Storage, owner: int | None, selection: Selection, options: ExportOptions
) -> Plan:
    """The plan of an export, checked before anything is written or sent.

    Raises:
        NotFoundError: the selection names a job the owner does not have.
        InvalidRequestError: a bad template.
    """
    checked_template(options)
    if selection.job_id is not None:
        await storage.get_job(selection.job_id, owner)
    skip: set[int] = set()
    if selection.unique and selection.job_id is not None:
        # One file per picture within the job, its best copy when the job has it (a job's
        # copy of a picture whose best copy is elsewhere is kept).
        skip = await other_copies(storage, selection.job_id, owner)
        selection = replace(selection, unique=False)
    return Plan(storage, owner, selection, options, skip=skip)


async def export_to(
    storage: Storage,
    owner: int | None,
    selection: Selection,
    directory: Path,
    options: ExportOptions,
) -> Exported:
    """Write the selected files to ``directory`` (see :mod:`.folder`): the files written, and
    those already there with the same bytes (left alone)."""
    plan = await _plan(storage, owner, selection, options)
    return await export_plan(plan, directory)


async def export_job(
    storage: Storage,
    job_id: int,
    owner: int | None,
    directory: Path,
    *,
    overwrite: bool = False,
    unique: bool = False,
) -> Exported:
    """A job's files into ``directory`` under their default names (as :func:`export_to`): the
    files written, and those already there with the same bytes (exporting twice writes none)."""
    selection = Selection(job_id=job_id, unique=unique)
    return await export_to(storage, owner, selection, directory, ExportOptions(overwrite=overwrite))


async def export_asset(
    storage: Storage, asset_id: int, owner: int | None, directory: Path
) -> Exported:
    """One stored file into ``directory`` under its default name (`tuiapp get -d`).

    Raises:
        NotFoundError: no such asset for this owner.
        InvalidRequestError: the directory cannot be made or written.
    """
    asset = await storage.get_asset(asset_id, owner)
    return await export_one(storage, owner, asset, directory)


async def zip_of(
    storage: Storage, owner: int | None, selection: Selection, options: ExportOptions
) -> AsyncIterator[bytes]:
    """The selected files as a zip stream (see :mod:`.zipping`); checked before it starts."""
    plan = await _plan(storage, owner, selection, options)
    return zip_stream(storage, plan, now=datetime.now(UTC))
