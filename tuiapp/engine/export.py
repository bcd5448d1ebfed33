"""Export: a job's stored files written out to a directory under safe, unique names.

A file is written to a fresh temporary name that nobody else could have planted (created
exclusively, never through a symlink) and linked to its final name only if that name is free
(else ``name (2).ext``), so an export never writes through a symlink and never overwrites a file
unless asked to. A file already there under its name (or a numbered one) with the same bytes is
left as it is and counted, so exporting twice into one folder leaves each file once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import os
import re
import stat
import tempfile
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import Exported, files

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.jobs import AssetInfo
    from tuiapp.storage import Storage

__all__ = ["export_asset", "export_job", "export_name"]

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/svg+xml": ".svg", "video/quicktime": ".mov"}


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_read_umask()
"""Exported files get the permissions an ordinary new file gets (mkstemp's are 0600)."""

_MEDIA = ("image/", "video/", "audio/")


def _without_extension(title: str) -> str:
    """``pic.jpg`` -> ``pic``: a title that is a file name keeps no media extension of its own
    (the exported name gets the one of the stored file)."""
    suffix = PurePath(title).suffix if "/" not in title else ""
    kind = mimetypes.guess_type(f"f{suffix}")[0] if suffix else None
    if kind is not None and kind.startswith(_MEDIA):
        return title[: -len(suffix)]
    return title


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
    title = _without_extension(title)
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
) -> Exported:
    """Write a job's files into ``directory``.

    A name already taken gets `` (2)``, `` (3)``... before its extension, unless ``overwrite``;
    a file already there with the same bytes under its name (or a numbered one) is not written
    again but counted in ``Exported.already``. ``unique``: one file per picture: of
    near-duplicates in the job, the best copy when the job has it, else the first.

    Raises:
        NotFoundError: no such job for this owner.
        InvalidRequestError: the directory cannot be made or written; files written before the
            failure stay.
    """
    await storage.get_job(job_id, owner)
    await _make_folder(directory)
    skip = await _other_copies(storage, job_id, owner) if unique else set()
    done = Exported()
    offset = 0
    while True:
        page = await storage.list_assets(owner, job_id=job_id, limit=500, offset=offset)
        if not page:
            return done
        offset += len(page)
        for asset in page:
            if asset.id not in skip:
                await _export_one(storage, asset, owner, directory, overwrite, done)


async def export_asset(
    storage: Storage, asset_id: int, owner: int | None, directory: Path
) -> Exported:
    """Write one stored file into ``directory`` as :func:`export_job` would (a file already
    there with the same bytes is counted, not written again); `tuiapp get -d` calls it for each
    file as it is stored.

    Raises:
        NotFoundError: no such asset for this owner.
        InvalidRequestError: the directory cannot be made or written.
    """
    asset = await storage.get_asset(asset_id, owner)
    await _make_folder(directory)
    done = Exported()
    await _export_one(storage, asset, owner, directory, False, done)
    return done


async def _make_folder(directory: Path) -> None:
    try:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(f"cannot make the folder {directory}: {exc.strerror}") from None


async def _export_one(
    storage: Storage,
    asset: AssetInfo,
    owner: int | None,
    directory: Path,
    overwrite: bool,
    done: Exported,
) -> None:
    target = directory / export_name(asset)
    # With overwrite, only the name itself: a same-bytes " (2)" copy does not spare replacing it.
    there = await asyncio.to_thread(
        _same_bytes_at, target, asset.size, asset.sha256, 1 if overwrite else 10_000
    )
    if there is not None:
        done.already.append(there)
        return
    chunks = await storage.read_blob(asset.sha256, owner)
    try:
        done.written.append(await _write_new(target, chunks, overwrite=overwrite))
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write {target}: {exc.strerror or exc}"
            f" ({files(len(done.written))} written before it)"
        ) from None


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
