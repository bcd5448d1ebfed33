"""An export as a zip stream: the plan's files, sidecars and credits, a chunk at a time.

Written with the standard library's :mod:`zipfile` on a write-only, non-seekable sink: on such
a file ``zipfile`` writes each entry's sizes and CRC in a data descriptor after its bytes (the
archive needs no going back), and chooses ZIP64 from the size declared up front (every stored
file's size is known), so files over 4 GiB and archives of any length are written correctly.
Entries are stored, not deflated: pictures and videos are compressed already and deflating them
would cost the CPU for nothing. Nothing touches the disk and memory stays flat: the sink is
emptied after every chunk (at most one 1 MiB chunk plus a header is held) and the central
directory, written at the end, holds about a hundred bytes per file.
"""

from __future__ import annotations

import zipfile
from datetime import UTC
from typing import TYPE_CHECKING

from tuiapp.engine.export.plan import CREDITS_JSON, CREDITS_MD, sidecar_bytes

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from tuiapp.engine.export.plan import Plan
    from tuiapp.storage import Storage

__all__ = ["zip_stream"]


class _Sink:
    """A write-only file that keeps what is written until :meth:`take` (no ``tell``/``seek``:
    :mod:`zipfile` then streams)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _info(path: str, when: datetime, size: int) -> zipfile.ZipInfo:
    stamp = when.astimezone(UTC)
    info = zipfile.ZipInfo(
        path, date_time=stamp.timetuple()[:6] if stamp.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    )
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size  # decides ZIP64 before the bytes come
    info.external_attr = 0o644 << 16
    return info


async def zip_stream(storage: Storage, plan: Plan, *, now: datetime) -> AsyncIterator[bytes]:
    """The zip of ``plan``, piece by piece; ``now`` dates the credits.

    A caller that stops reading (a download cut short) closes this generator: the blob being
    read is closed with it and nothing is left anywhere.
    """
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
    async for item in plan:
        asset = item.asset
        chunks = await storage.read_blob(asset.sha256, plan.owner)
        try:
            with archive.open(_info(item.path, asset.created_at, asset.size), "w") as entry:
                yield sink.take()
                async for piece in chunks:
                    entry.write(piece)
                    yield sink.take()
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        yield sink.take()
        if plan.options.sidecar:
            data = sidecar_bytes(asset, item.job)
            archive.writestr(_info(item.path + ".json", asset.created_at, len(data)), data)
            yield sink.take()
    for name, text in ((CREDITS_MD, plan.credits.markdown()), (CREDITS_JSON, plan.credits.json())):
        data = text.encode()
        archive.writestr(_info(name, now, len(data)), data)
        yield sink.take()
    archive.close()
    yield sink.take()
