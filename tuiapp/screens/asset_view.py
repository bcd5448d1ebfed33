"""One stored file: a preview drawn in the terminal and all that is known of where it came from."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Header, Static

from tuiapp.screens.base import TuiScreen
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.formatting import dimensions, human_bytes, remote
from tuiapp.widgets.image_preview import ImagePreview, decode_image

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tuiapp.jobs import AssetInfo

__all__ = ["AssetViewScreen", "asset_table"]

PREVIEW_MAX_BYTES = 64 * 1000**2
"""Files larger than this are not read for a preview."""


def asset_table(asset: AssetInfo) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    rows = [
        ("Title", asset.title or ""),
        ("Source", asset.source),
        ("Job", str(asset.job_id)),
        ("Type", asset.mime),
        ("Size", human_bytes(asset.size)),
        ("Pixels", dimensions(asset.width, asset.height)),
        ("Author", asset.author or ""),
        ("Licence", asset.license or ""),
        ("Page", asset.page_url or ""),
        ("URL", asset.url),
        ("SHA-256", asset.sha256[:16] + "…"),
        ("Stored", asset.created_at.astimezone().strftime("%Y-%m-%d %H:%M")),
    ]
    for name, value in rows:
        if value:
            table.add_row(name, remote(value))  # a str cell would be parsed as markup
    return table


class AssetViewScreen(TuiScreen):
    """Shows ``asset_ids[index]``; ``n``/``p`` step through the job's other files."""

    TITLE = "File"
    BINDING_GROUP_TITLE = "File"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="file.back"),
        Binding("n,right", "step(1)", "Next", tooltip="Next file of the job", id="file.next"),
        Binding("p,left", "step(-1)", "Previous", tooltip="Previous file", id="file.previous"),
    ]

    def __init__(self, asset_ids: list[int], index: int = 0) -> None:
        super().__init__()
        self.asset_ids = asset_ids
        self.index = max(0, min(index, len(asset_ids) - 1))
        self.asset: AssetInfo | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="asset-body"):
            yield ImagePreview(id="preview")
            with VerticalScroll(id="asset-meta"):
                yield Static("Loading…", id="asset-info")
                yield Static("", id="preview-note")
        yield AppFooter()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="asset", exit_on_error=False, description="load a file")
    async def load(self) -> None:
        asset_id = self.asset_ids[self.index]
        self.sub_title = f"{self.index + 1} of {len(self.asset_ids)}"
        preview = self.query_one(ImagePreview)
        note = self.query_one("#preview-note", Static)
        preview.image = None
        asset, chunks = await self.engine.read_asset(asset_id, self.owner)
        self.asset = asset
        self.query_one("#asset-info", Static).update(asset_table(asset))
        if not asset.mime.startswith("image/"):
            note.update(remote(f"No preview for {asset.mime}: export the job to open it."))
            await _close(chunks)
            return
        if asset.size > PREVIEW_MAX_BYTES:
            note.update(f"Too large to preview here ({human_bytes(asset.size)}).")
            await _close(chunks)
            return
        data = b"".join([piece async for piece in chunks])
        try:
            preview.image = await asyncio.to_thread(decode_image, data)
            note.update("")
        except ValueError as exc:
            note.update(remote(str(exc)))

    def action_step(self, delta: int) -> None:
        index = self.index + delta
        if 0 <= index < len(self.asset_ids):
            self.index = index
            self.load()

    def action_back(self) -> None:
        self.dismiss()


async def _close(chunks: object) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
