"""Export to a folder: the plan's files written under their names, with sidecars and credits.

A file is written to a fresh temporary name that nobody else could have planted (created
exclusively, never through a symlink) and linked to its final name only if that name is free
(else ``name (2).ext``), so an export never writes through a symlink and never overwrites a file
unless asked to. A template's folders are made one by one and refused when one is a symlink.
A file already there under its name (or a numbered one) with the same bytes is left as it is and
counted, so exporting twice into one folder leaves each file (and the credits) once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tuiapp.engine.export.naming import export_name
from tuiapp.engine.export.plan import CREDITS_JSON, CREDITS_MD, sidecar_bytes
from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import Exported, files

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.engine.export.plan import Plan
    from tuiapp.jobs import AssetInfo
    from tuiapp.storage import Storage

__all__ = ["export_one", "export_plan", "other_copies"]


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


async def _make_folder(directory: Path) -> None:
    try:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot make the folder {directory}: {exc.strerror}") from None


async def export_plan(plan: Plan, directory: Path) -> Exported:
    """Write ``plan``'s files into ``directory``; returns the files written and those already
    there with the same bytes (not the sidecars nor the credits, which are written too).

    Raises:
        InvalidRequestError: the directory cannot be made or written; files written before the
            failure stay.
    """
    await _make_folder(directory)
    overwrite = plan.options.overwrite
    done = Exported()
    async for item in plan:
        try:
            folder = await asyncio.to_thread(_folder, directory, item.path)
            target = folder / item.path.rsplit("/", 1)[-1]
            path = await _export_asset(
                plan.storage, plan.owner, item.asset, target, overwrite, done
            )
            if plan.options.sidecar:
                data = sidecar_bytes(item.asset, item.job)
                await _write_bytes(path.with_name(path.name + ".json"), data, overwrite=overwrite)
        except OSError as exc:
            raise InvalidRequestError(
                f"cannot write {directory / item.path}: {exc.strerror or exc}"
                f" ({files(len(done.written))} written before it)"
            ) from None
    try:
        for name, text in (
            (CREDITS_MD, plan.credits.markdown()),
            (CREDITS_JSON, plan.credits.json()),
        ):
            await _write_bytes(directory / name, text.encode(), overwrite=overwrite)
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write the credits in {directory}: {exc.strerror or exc}"
        ) from None
    return done


async def export_one(
    storage: Storage, owner: int | None, asset: AssetInfo, directory: Path
) -> Exported:
    """Write one stored file into ``directory`` under its default name, as :func:`export_plan`
    would (`tuiapp get -d` calls it for each file as it is stored; no credits).

    Raises:
        InvalidRequestError: the directory cannot be made or written.
    """
    await _make_folder(directory)
    done = Exported()
    target = directory / export_name(asset)
    try:
        await _export_asset(storage, owner, asset, target, False, done)
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {target}: {exc.strerror or exc}") from None
    return done


async def _export_asset(
    storage: Storage,
    owner: int | None,
    asset: AssetInfo,
    target: Path,
    overwrite: bool,
    done: Exported,
) -> Path:
    """Write ``asset`` to ``target`` unless a file with its bytes is there already; returns the
    file that holds it. With ``overwrite``, only ``target`` itself is looked at."""
    names = 1 if overwrite else 10_000
    there = await asyncio.to_thread(_same_bytes_at, target, asset.size, asset.sha256, names)
    if there is not None:
        done.already.append(there)
        return there
    chunks = await storage.read_blob(asset.sha256, owner)
    path = await _write_new(target, chunks, overwrite=overwrite)
    done.written.append(path)
    return path


async def _write_bytes(target: Path, data: bytes, *, overwrite: bool) -> None:
    """A sidecar or the credits: not written again when the same bytes are there."""
    digest = hashlib.sha256(data).hexdigest()
    names = 1 if overwrite else 10_000
    if await asyncio.to_thread(_same_bytes_at, target, len(data), digest, names) is None:
        await _write_new(target, _once(data), overwrite=overwrite)


def _numbered(target: Path, n: int) -> Path:
    return target if n == 1 else target.with_name(f"{target.stem} ({n}){target.suffix}")


def _same_bytes_at(target: Path, size: int, sha256: str, names: int) -> Path | None:
    """The first of ``target``, ``target (2)``, ... (``names`` of them) that is a regular file
    (not a symlink) holding exactly these bytes; the search stops at the first free name."""
    for n in range(1, names + 1):
        name = _numbered(target, n)
        try:
            st = os.lstat(name)
        except FileNotFoundError:
            return None
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            continue
        digest = hashlib.sha256()
        try:
            fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        with os.fdopen(fd, "rb") as fh:
            while piece := fh.read(1 << 20):
                digest.update(piece)
        if digest.hexdigest() == sha256:
            return name
    return None


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
        name = _numbered(target, n)
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
