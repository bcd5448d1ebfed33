"""Library: every stored file of the acting user, searched as you type, with a preview of the
highlighted one; Enter opens it, ``e`` exports what the search found.

The search box takes words (title, author, source, the job's query, the page, the licence) and
a few filters written ``name:value``: ``source:pexels``, ``kind:video``, ``job:12``,
``since:2026-12-01``, ``min:1920x1080`` (or ``min:1920`` for a width alone).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Input, Static

from tuiapp.jobs import ExportOptions, Selection
from tuiapp.screens.asset_view import AssetViewScreen, asset_table
from tuiapp.screens.base import TuiScreen
from tuiapp.screens.export import ExportChoice, ExportModal
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.formatting import dimensions, human_bytes, remote
from tuiapp.widgets.image_preview import ImagePreview, decode_image

if TYPE_CHECKING:
    from rich.text import Text
    from textual.app import ComposeResult

    from tuiapp.jobs import AssetInfo

__all__ = ["LibraryScreen", "parse_search"]

RESULTS = 500
"""Files shown for a search (best first); narrowing the words finds the rest."""
SEARCH_PAUSE = 0.15
"""Seconds of no typing before the engine is asked."""
PREVIEW_MAX_BYTES = 20 * 1000**2
"""Larger pictures are not read for the side preview (Enter shows them whole)."""

_FILTER = re.compile(r"(?i)^(source|kind|job|since|min):(\S+)$")
_KINDS = ("image", "video", "audio", "file")


def parse_search(text: str) -> tuple[Selection, list[str]]:
    """The selection a search box's text asks for, and what in it was not understood.

    Raises nothing: a filter with a bad value is reported in the second list and left out.
    """
    words: list[str] = []
    problems: list[str] = []
    values: dict[str, object] = {}
    for token in text.split():
        match = _FILTER.match(token)
        if match is None:
            words.append(token)
            continue
        name, value = match.group(1).lower(), match.group(2)
        if name == "source":
            values["source"] = value.lower()
        elif name == "kind" and value.lower() in _KINDS:
            values["kind"] = value.lower()
        elif name == "job" and value.isdigit() and int(value) > 0:
            values["job_id"] = int(value)
        elif name == "since" and (when := _day(value)) is not None:
            values["since"] = when
        elif name == "min" and (size := re.fullmatch(r"(\d{1,6})(?:x(\d{1,6}))?", value)):
            values["min_width"] = int(size.group(1)) or None
            if size.group(2):
                values["min_height"] = int(size.group(2)) or None
        else:
            problems.append(token)
    return Selection(text=" ".join(words) or None, **values), problems  # type: ignore[arg-type]


def _day(value: str) -> datetime | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class LibraryScreen(TuiScreen):
    """Search every stored file; Enter opens the highlighted one, ``e`` exports the results."""

    TITLE = "Library"
    BINDING_GROUP_TITLE = "Library"
    AUTO_FOCUS = "#library-search"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_asset", "Open", tooltip="The highlighted file", id="library.open"),
        Binding(
            "e",
            "export_results",
            "Export",
            tooltip="Write the files found into a folder (with their credits)",
            id="library.export",
        ),
        Binding(
            "slash", "focus_search", "Search", tooltip="Type words to search", id="library.search"
        ),
        Binding(
            "escape",
            "focus_results",
            "To results",
            tooltip="Leave the search box, back to the files found",
            show=False,
            id="library.results",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.found: list[AssetInfo] = []
        self.selection = Selection()
        self._stale = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="Search: words, source:NAME kind:video min:1920x1080 since:2026-12-01",
            id="library-search",
        )
        yield Static("", id="library-status")
        with Horizontal(id="library-body"):
            table: DataTable[str | Text] = DataTable(
                id="library-results", cursor_type="row", zebra_stripes=True
            )
            table.add_columns("File", "Title", "Source", "Pixels", "Size", "Stored")
            yield table
            with Vertical(id="library-side"):
                yield ImagePreview(id="library-preview")
                yield Static("", id="library-info")
        yield AppFooter()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#library-results", DataTable)

    def on_mount(self) -> None:
        self.tui.jobs_changed.subscribe(self, self._job_changed)
        self.set_interval(1.0, self._search_if_stale)
        self.search()

    def on_screen_resume(self) -> None:
        self.search()

    def _job_changed(self, _job_id: int) -> None:
        self._stale = True

    def _search_if_stale(self) -> None:
        if self._stale and self.is_current and not self.table.has_focus:
            self._stale = False
            self.search()

    @on(Input.Changed, "#library-search")
    def _typed(self) -> None:
        self.search(SEARCH_PAUSE)

    @on(Input.Submitted, "#library-search")
    def _submitted(self) -> None:
        self.table.focus()

    @work(exclusive=True, group="library", exit_on_error=False, description="search the library")
    async def search(self, pause: float = 0.0) -> None:
        if pause:
            await asyncio.sleep(pause)  # a newer keystroke cancels this worker (exclusive)
        text = self.query_one("#library-search", Input).value
        selection, problems = parse_search(text)
        found = await self.engine.find(self.owner, selection, limit=RESULTS)
        self.selection = selection
        self.found = found
        self._fill(problems)

    def _fill(self, problems: list[str]) -> None:
        table = self.table
        table.clear()
        for a in self.found:
            table.add_row(
                str(a.id),
                remote(a.title or a.url.rsplit("/", 1)[-1]),
                a.source,
                dimensions(a.width, a.height),
                human_bytes(a.size),
                a.created_at.astimezone().strftime("%Y-%m-%d"),
                key=str(a.id),
            )
        count = len(self.found)
        more = f" (the first {RESULTS}: add words to narrow)" if count >= RESULTS else ""
        status = f"{count} file{'' if count == 1 else 's'} found{more}"
        if not count and (self.selection.text or self.selection != Selection()):
            status = "Nothing matches: fewer words or filters find more."
        elif not count:
            status = "No stored files yet: press F2 to start a job."
        if problems:
            status += " · not understood: " + " ".join(problems)
        self.query_one("#library-status", Static).update(remote(status))
        if count:
            self._show(0)
        else:
            self.query_one(ImagePreview).image = None
            self.query_one("#library-info", Static).update("")

    @property
    def highlighted(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        return table.cursor_row

    @on(DataTable.RowHighlighted, "#library-results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    @on(DataTable.RowSelected, "#library-results")
    def _selected(self) -> None:
        self.action_open_asset()

    def _show(self, row: int) -> None:
        if 0 <= row < len(self.found):
            asset = self.found[row]
            self.query_one("#library-info", Static).update(asset_table(asset))
            self._preview(asset)

    @work(exclusive=True, group="library-preview", exit_on_error=False, description="preview")
    async def _preview(self, asset: AssetInfo) -> None:
        preview = self.query_one(ImagePreview)
        preview.image = None
        if not asset.mime.startswith("image/") or asset.size > PREVIEW_MAX_BYTES:
            return
        _, chunks = await self.engine.read_asset(asset.id, self.owner)
        data = b"".join([piece async for piece in chunks])
        try:
            preview.image = await asyncio.to_thread(decode_image, data)
        except ValueError:
            preview.image = None

    def action_open_asset(self) -> None:
        row = self.highlighted
        if row is None:
            self.notify("No file selected", severity="warning")
            return
        self.app.push_screen(AssetViewScreen([a.id for a in self.found], row))

    def action_export_results(self) -> None:
        """Ask for a folder, then write every file the search finds (not only those listed)."""
        if not self.found:
            self.notify("Nothing to export: the search found no file", severity="warning")
            return
        selection = self.selection
        shown = len(self.found)

        def chosen(choice: ExportChoice | None) -> None:
            if choice is not None:
                self._export(replace(selection, unique=choice.unique), choice)

        what = f"the {shown} files found" if shown < RESULTS else "every file found"
        default = Path.cwd() / "tuiapp-library"
        self.app.push_screen(ExportModal(None, default, what=what, offer_unique=True), chosen)

    @work(group="export", exit_on_error=False, description="export a search")
    async def _export(self, selection: Selection, choice: ExportChoice) -> None:
        options = ExportOptions(sidecar=choice.sidecar)
        done = await self.engine.export(selection, self.owner, choice.folder, options)
        self.notify(
            f"{done.summary(choice.folder)} (credits in CREDITS.md)", title="Search exported"
        )

    def action_focus_search(self) -> None:
        self.query_one("#library-search", Input).focus()

    def action_focus_results(self) -> None:
        self.table.focus()
