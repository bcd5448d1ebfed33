"""A checklist of sources grouped by kind, with the key each source still needs."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tuiapp.jobs import SourceInfo

__all__ = ["SourcePicker"]

_KIND_TITLES = {
    "image_generator": "Image generators",
    "image_api": "Image APIs",
    "image_search": "Image search",
    "video": "Video",
    "audio": "Audio",
}


def kind_title(kind: str) -> str:
    return _KIND_TITLES.get(kind, kind.replace("_", " ").capitalize())


class SourcePicker(OptionList):
    """Sources as options under a heading per kind; Enter or Space ticks the highlighted one.

    Sources whose API key is not set are shown with the setting to set, and cannot be ticked.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "select", "Tick", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]

    @dataclass
    class Changed(Message):
        """The set of ticked sources changed."""

        picker: SourcePicker
        selected: tuple[str, ...]

    def __init__(self, sources: Iterable[SourceInfo], *, id: str | None = None) -> None:
        infos = sorted(sources, key=lambda s: s.kind)
        self._infos = {s.name: s for s in infos}
        self._name_width = max((len(s.name) for s in infos), default=0)
        """Names are padded to the longest, so every description starts in one column."""
        self._selected: list[str] = []
        options: list[Option] = []
        for kind, group in groupby(infos, key=lambda s: s.kind):
            options.append(Option(Text(kind_title(kind), style="bold"), disabled=True))
            options.extend(Option(self._prompt(s, ticked=False), id=s.name) for s in group)
        super().__init__(*options, id=id)

    @property
    def selected(self) -> tuple[str, ...]:
        """Ticked source names, in the order they were ticked."""
        return tuple(self._selected)

    def is_available(self, name: str) -> bool:
        info = self._infos.get(name)
        return info is not None and info.configured

    def _prompt(self, info: SourceInfo, *, ticked: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if not info.configured:
            text.append("  ✗ ", style="dim")
            text.append(info.name, style="dim")
            text.append(f" - set {info.key_setting}", style="italic")
            return text
        text.append(" [x] " if ticked else " [ ] ", style="bold" if ticked else "")
        text.append(f"{info.name:<{self._name_width}}", style="bold" if ticked else "")
        if not info.ready and info.missing:
            # It may still work for some items (a public video without cookies): say what it
            # lacks, as `tuiapp doctor` does, and let the user decide.
            text.append(f" not ready: {'; '.join(info.missing)}", style="italic")
        else:
            text.append(f" {info.description}", style="dim")
        return text

    def set_selected(self, names: Iterable[str]) -> None:
        """Tick exactly ``names`` (those that can be ticked)."""
        wanted = [n for n in names if self.is_available(n)]
        for name in set(self._selected) | set(wanted):
            self.replace_option_prompt(name, self._prompt(self._infos[name], ticked=name in wanted))
        if wanted != self._selected:
            self._selected = wanted
            self.post_message(self.Changed(self, self.selected))

    def toggle(self, name: str) -> None:
        if not self.is_available(name):
            return
        if name in self._selected:
            self.set_selected([n for n in self._selected if n != name])
        else:
            self.set_selected([*self._selected, name])

    def on_mount(self) -> None:
        for info in self._infos.values():
            if not info.configured:
                self.disable_option(info.name)
        self.action_first()

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.toggle(event.option.id)
