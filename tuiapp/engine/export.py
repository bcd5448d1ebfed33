"""Export: a job's stored files written out to a directory under safe, unique names.

A file is written to a fresh temporary name that nobody else could have planted (created
exclusively, never through a symlink) and linked to its final name only if that name is free
(else ``name (2).ext``), so an export never writes through a symlink and never overwrites a file
unless asked to.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tuiapp.errors import InvalidRequestError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.jobs import AssetInfo
    from tuiapp.storage import Storage

__all__ = ["export_job", "export_name"]

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/svg+xml": ".svg", "video/quicktime": ".mov"}


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_read_umask()
"""Exported files get the permissions an ordinary new file gets (mkstemp's are 0600)."""


def export_name(asset: AssetInfo) -> str:
    """A file name that reads well, is safe on every common file system and unique per asset.

    ``<title or URL stem>-<asset id>[-<width>x<height>]<ext>``, e.g. ``dogs-12-640x480.png``:
    lower case, words joined by ``-``, at most 60 characters before the id. A trailing
    parenthesis that repeats the size (``dogs (640x480, #e74c3c)``) is left out.
    """
    size = f"{asset.width}x{asset.height}" if asset.width and asset.height else None
    title = (asset.title or "").strip()
    if size is not None:
        title = re.sub(rf"\s*[(\[][^)\]]*\b{size}\b[^)\]]*[)\]]\s*$", "", title)
    if not title:
        last = asset.url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        title = last.rsplit(".", 1)[0] if "." in last else last
    stem = _UNSAFE.sub("-", title.lower()).replace("_", "-")
    stem = re.sub(r"[-. ]*[ -][-. ]*", "-", stem).strip("-. ")[:60].rstrip("-. ") or "file"
    ext = _EXTENSIONS.get(asset.mime) or mimetypes.guess_extension(asset.mime) or ".bin"
    return f"{stem}-{asset.id}-{size}{ext}" if size else f"{stem}-{asset.id}{ext}"


async def _other_copies(storage: Storage, job_id: int, owner: int | None) -> set[int]:
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


async def export_job(
    storage: Storage,
    job_id: int,
    owner: int | None,
    directory: Path,
    *,
    overwrite: bool = False,
    unique: bool = False,
) -> list[Path]:
    """Write a job's files into ``directory``; returns the paths written.

    A name already taken gets `` (2)``, `` (3)``... before its extension, unless ``overwrite``.
    ``unique``: one file per picture: of near-duplicates in the job, the best copy when the job
    has it, else the first.

    Raises:
        NotFoundError: no such job for this owner.
        InvalidRequestError: the directory cannot be made or written; files written before the
            failure stay.
    """
    await storage.get_job(job_id, owner)
    try:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot make the folder {directory}: {exc.strerror}") from None
    skip = await _other_copies(storage, job_id, owner) if unique else set()
    written: list[Path] = []
    offset = 0
    while True:
        page = await storage.list_assets(owner, job_id=job_id, limit=500, offset=offset)
        if not page:
            return written
        offset += len(page)
        for asset in page:
            if asset.id in skip:
                continue
            target = directory / export_name(asset)
            chunks = await storage.read_blob(asset.sha256, owner)
            try:
                written.append(await _write_new(target, chunks, overwrite=overwrite))
            except OSError as exc:
                raise InvalidRequestError(
                    f"cannot write {target}: {exc.strerror or exc}"
                    f" ({len(written)} files written before it)"
                ) from None


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
