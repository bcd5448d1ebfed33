"""What an export holds: the selected files in order, each with its name, its sidecar and its
credit, whether it goes to a folder or into a zip.

Both ways of exporting walk the same :class:`Plan`, so a zip unpacks to what ``tuiapp export``
writes into an empty folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tuiapp.engine.export.credits import Credits
from tuiapp.engine.export.naming import Names, Template

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.jobs import AssetInfo, ExportOptions, JobInfo, Selection
    from tuiapp.storage import Storage

__all__ = ["CREDITS_JSON", "CREDITS_MD", "Plan", "Planned", "checked_template", "sidecar"]

CREDITS_MD: Final = "CREDITS.md"
CREDITS_JSON: Final = "credits.json"
PAGE: Final = 500


def checked_template(options: ExportOptions) -> Template | None:
    """The options' template, checked.

    Raises:
        InvalidRequestError: an unknown field, an absolute path, a ``..``.
    """
    return None if options.template is None else Template(options.template)


@dataclass(frozen=True, slots=True)
class Planned:
    """One file of the export: its path (``/`` between folders) and what it is."""

    path: str
    asset: AssetInfo
    job: JobInfo


def sidecar(asset: AssetInfo, job: JobInfo) -> dict[str, Any]:
    """A file's metadata, written beside it as ``NAME.json``.

    The asset's fields as the API shows them (source, URLs, title, author and its link, licence,
    sha256, dimensions, size, stored time ...), the duration when the site gave one, and the job
    with its query.
    """
    data = asset.to_dict()
    data["stored_at"] = data["created_at"]
    data["duration"] = asset.metadata.get("duration")
    data["job"] = {
        "id": job.id,
        "query": job.query,
        "created_at": job.created_at.isoformat(),
        "sources": [s.source for s in job.sources],
    }
    return data


def sidecar_bytes(asset: AssetInfo, job: JobInfo) -> bytes:
    return (json.dumps(sidecar(asset, job), indent=2, ensure_ascii=False) + "\n").encode()


@dataclass
class Plan:
    """The files of ``selection`` for ``owner``, named, in id order (oldest first).

    Files stored while the plan is walked are included when they come after the last one read.
    """

    storage: Storage
    owner: int | None
    selection: Selection
    options: ExportOptions
    skip: set[int] = field(default_factory=set)
    """Asset ids to leave out (near-duplicates of another file in the export)."""
    credits: Credits = field(default_factory=Credits)
    count: int = 0
    """Files planned so far."""

    def __post_init__(self) -> None:
        self._names = Names.of(checked_template(self.options))
        self._names.reserve(CREDITS_MD)
        self._names.reserve(CREDITS_JSON)
        self._jobs: dict[int, JobInfo] = {}

    async def _job(self, job_id: int) -> JobInfo:
        job = self._jobs.get(job_id)
        if job is None:
            if len(self._jobs) > 1000:
                self._jobs.clear()
            job = self._jobs[job_id] = await self.storage.get_job(job_id, self.owner)
        return job

    async def __aiter__(self) -> AsyncIterator[Planned]:
        after = 0
        while page := await self.storage.find_assets(
            self.owner, self.selection, limit=PAGE, after=after
        ):
            after = page[-1].id
            for asset in page:
                if asset.id in self.skip:
                    continue
                job = await self._job(asset.job_id)
                path = self._names.name(asset, job)
                if self.options.sidecar:
                    self._names.reserve(path + ".json")
                self.count += 1
                self.credits.add(asset, path)
                yield Planned(path, asset, job)
