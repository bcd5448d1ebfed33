"""Export to a folder: the plan's files written under their names, with sidecars and credits.

A file is written to a fresh temporary name that nobody else could have planted (created
exclusively, never through a symlink) and linked to its final name only if that name is free
(else ``name (2).ext``), so an export never writes through a symlink and never overwrites a file
unless asked to. A template's folders are made one by one and refused when one is a symlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tuiapp.engine.export.plan import CREDITS_JSON, CREDITS_MD, sidecar_bytes
from tuiapp.errors import InvalidRequestError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.engine.export.plan import Plan
    from tuiapp.storage import Storage

__all__ = ["export_plan", "other_copies"]


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_read_umask()
"""Exported files get the permissions an ordinary new file gets (mkstemp's are 0600)."""


async def other_copies(storage: Storage, job_id: int, owner: int | None) -> set[int]:
    """The ids of a job's assets that ``unique`` skips: all but one of each near-duplicate
    group (its best copy when the job has it). A file stored after this is not skipped."""
    chosen: dict[int, int] = {}  # group (its best copy's id) -> the member kept
    seen: set[int] = set()
    offset = 0
    while page := await storage.list_assets(owner, job_id=job_id, limit=500, offset=offset):
        offset += len(page)
        for asset in page:
            seen.add(asset.id)
            group = asset.duplicate_of or asset.id
            if group not in chosen or asset.id == group:
                chosen[group] = asset.id
    return seen - set(chosen.values())


def _folder(directory: Path, relative: str) -> Path:
    """``directory/relative``'s folder, made; each step must be a real folder, not a link."""
    folder = directory
    for part in relative.split("/")[:-1]:
        folder = folder / part
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            raise InvalidRequestError(
                f"{folder} is not a folder (a link or a file); not writing there"
            )
    return folder


async def export_plan(plan: Plan, directory: Path) -> list[Path]:
    """Write ``plan``'s files into ``directory``; returns the paths of the files written (not
    the sidecars nor the credits, which are written too).

    Raises:
        InvalidRequestError: the directory cannot be made or written; files written before the
            failure stay.
    """
    try:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot make the folder {directory}: {exc.strerror}") from None
    overwrite = plan.options.overwrite
    written: list[Path] = []
    async for item in plan:
        try:
            folder = await asyncio.to_thread(_folder, directory, item.path)
            target = folder / item.path.rsplit("/", 1)[-1]
            chunks = await plan.storage.read_blob(item.asset.sha256, plan.owner)
            path = await _write_new(target, chunks, overwrite=overwrite)
            written.append(path)
            if plan.options.sidecar:
                data = sidecar_bytes(item.asset, item.job)
                await _write_new(
                    path.with_name(path.name + ".json"), _once(data), overwrite=overwrite
                )
        except OSError as exc:
            raise InvalidRequestError(
                f"cannot write {directory / item.path}: {exc.strerror or exc}"
                f" ({len(written)} files written before it)"
            ) from None
    try:
        for name, text in (
            (CREDITS_MD, plan.credits.markdown()),
            (CREDITS_JSON, plan.credits.json()),
        ):
            await _write_new(directory / name, _once(text.encode()), overwrite=overwrite)
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write the credits in {directory}: {exc.strerror or exc}"
        ) from None
    return written


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _write_new(target: Path, chunks: AsyncIterator[bytes], *, overwrite: bool) -> Path:
    """Write ``chunks`` to ``target`` through a temporary file only this process could create.

    Returns:
        The path written: ``target``, or with ``overwrite`` off and that name taken, the first
        free one of ``name (2).ext``, ``name (3).ext``, ...
    """
    fd, tmp_name = await asyncio.to_thread(
        tempfile.mkstemp, prefix=".tuiapp-", suffix=".part", dir=target.parent
    )
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, _MODE)
        with os.fdopen(fd, "wb") as fh:
            async for piece in chunks:
                await asyncio.to_thread(fh.write, piece)
        if overwrite:
            # rename replaces a symlink itself, never the file it points to.
            await asyncio.to_thread(os.replace, tmp, target)
            return target
        return await asyncio.to_thread(_publish_new, tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # gone already when renamed; a name in the same folder, never a link


def _publish_new(tmp: Path, target: Path) -> Path:
    """Give ``tmp`` the first free name of ``target``, ``target (2)``, ...; never replaces a
    file nor a symlink."""
    for n in range(1, 10_000):
        name = target if n == 1 else target.with_name(f"{target.stem} ({n}){target.suffix}")
        try:
            os.link(tmp, name)  # atomic, and fails when the name is taken
            return name
        except FileExistsError:
            continue
        except OSError:
            # A file system without hard links: check, then rename (not atomic, but never
            # through a symlink: rename replaces the link itself).
            if os.path.lexists(name):
                continue
            os.rename(tmp, name)
            return name
    raise FileExistsError(target)
