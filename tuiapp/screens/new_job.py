"""The new job screen: search words or a URL, the sources to ask, how many files each."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Header, Input, Label

from tuiapp.errors import TuiappError
from tuiapp.jobs import JobSpec
from tuiapp.screens.base import TuiScreen
from tuiapp.widgets.footer import AppFooter
from tuiapp.widgets.source_picker import SourcePicker

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["NewJobScreen"]

DEFAULT_COUNT = 10


def looks_like_url(text: str) -> bool:
    """Whether to show the route hint under the query (the engine routes the job itself)."""
    return text.strip().lower().startswith(("http://", "https://"))


class NewJobScreen(TuiScreen):
    """Type a query, tick sources, press Enter: the job starts and the board follows it."""

    TITLE = "New job"
    BINDING_GROUP_TITLE = "New job"
    AUTO_FOCUS = "#query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "start_job",
            "Start",
            tooltip="Start the job with the ticked sources",
            id="new_job.start",
            priority=True,
        ),
        Binding(
            "ctrl+l",
            "focus_sources",
            "Sources",
            tooltip="Move to the source list (Space ticks)",
            id="new_job.sources",
        ),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="new-job-form"):
            yield Label("Search words or a URL, then Enter", classes="field-label")
            yield Input(placeholder="e.g. mountains, or https://…", id="query")
            yield Label("", id="route")
            yield Label("Sources (↑↓ move, Space or Enter ticks)", classes="field-label")
            yield SourcePicker(self.engine.sources(), id="sources")
            with Horizontal(id="count-row"):
                yield Label("Files per source ", classes="field-label")
                count = self.tui.prefs.count or DEFAULT_COUNT
                yield Input(str(count), type="integer", id="count", max_length=4)
                yield Checkbox(
                    "New only",
                    id="new-only",
                    tooltip="Skip what the library holds already; the count is of new files",
                )
        yield AppFooter()

    def on_mount(self) -> None:
        # The sources ticked last time (those still known and configured); at first start the
        # engine's default sources, so that typing words and Enter just works.
        self.picker.set_selected(self.tui.prefs.sources or self.engine.default_sources())

    _before_url: tuple[str, ...] | None = None
    """The sources ticked before a URL was typed: a URL's source is shown ticked while the URL is
    there, and the user's own picks come back when it goes (a URL job never changes them)."""

    def focus_query(self) -> None:
        """Put the cursor in the query (F2 from anywhere lands here).

        At once, not on the next idle as ``Widget.focus`` does: keys typed right after F2 are
        already queued and go to whatever has the focus when they are handled.
        """
        self.set_focus(self.query_one("#query", Input))

    @property
    def picker(self) -> SourcePicker:
        return self.query_one("#sources", SourcePicker)

    @on(Input.Changed, "#query")
    def _route_url(self, event: Input.Changed) -> None:
        route = self.query_one("#route", Label)
        text = event.value.strip()
        route.set_class(looks_like_url(text), "-shown")
        if not looks_like_url(text):
            route.update("")
            if self._before_url is not None:
                self.picker.set_selected(self._before_url)
                self._before_url = None
            return
        name = self.engine.source_for_url(text)
        if name is None:
            route.update("No source recognises this URL: tick the ones to try.")
            return
        route.update(f"This URL goes to {name}.")
        if self.picker.selected != (name,):
            if self._before_url is None:
                self._before_url = self.picker.selected
            self.picker.set_selected([name])

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_start_job()

    def action_focus_sources(self) -> None:
        self.picker.focus()

    def action_start_job(self) -> None:
        query = self.query_one("#query", Input).value
        count_text = self.query_one("#count", Input).value.strip()
        try:
            count = int(count_text) if count_text else DEFAULT_COUNT
        except ValueError:
            self.notify("Files per source must be a number", severity="warning")
            return
        # As the user gave it: the engine checks and routes it (nothing ticked: the source that
        # takes a URL, or the default sources for search words).
        new_only = self.query_one("#new-only", Checkbox).value
        self._submit(
            JobSpec(query=query, sources=self.picker.selected, count=count, new_only=new_only)
        )

    @work(exclusive=True, group="submit", exit_on_error=False, description="submit a job")
    async def _submit(self, spec: JobSpec) -> None:
        try:
            job = await self.engine.submit(spec, self.owner)
        except TuiappError as exc:
            self.notify(str(exc), title="Cannot start", severity="warning")
            if not spec.query.strip():
                self.query_one("#query", Input).focus()
            elif not spec.sources:
                self.picker.focus()
            return
        self.query_one("#query", Input).value = ""
        if not looks_like_url(spec.query):  # a URL's routed source is not a choice to keep
            self.tui.remember(sources=job.spec.sources, count=spec.count)
        elif spec.count != self.tui.prefs.count:
            self.tui.remember(count=spec.count)
        self.tui.follow_job(job.id)
