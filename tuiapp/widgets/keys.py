"""The app's own keys, the same on every screen: the F-keys to each screen, quit and help."""

from __future__ import annotations

from textual.binding import Binding, BindingType

__all__ = ["APP_KEYS", "WATCHES_KEY"]

WATCHES_KEY = Binding(
    "f6",
    "watches",
    "Watches",
    tooltip="Topics watched across sources, and what each run found",
    key_display="F6",
    id="app.watches",
    show=False,
    priority=True,
)
"""The key to the Watches screen (a priority key, as the other F-keys)."""

# The F-keys are priority bindings: handled as they arrive, before the keys typed after
# them are passed to the focused widget (F2 then typing at once lands in the query).
APP_KEYS: list[BindingType] = [
    Binding(
        "f1",
        "help",
        "Help",
        tooltip="Every key, and what it does",
        key_display="F1",
        id="app.help",
        priority=True,
    ),
    Binding(
        "f2",
        "new_job",
        "New",
        tooltip="Type a new job's query",
        key_display="F2",
        id="app.new_job",
        priority=True,
    ),
    Binding(
        "f3",
        "board",
        "Board",
        tooltip="The Board: progress of a job",
        key_display="F3",
        id="app.board",
        priority=True,
    ),
    Binding(
        "f4",
        "history",
        "History",
        tooltip="Every job so far",
        key_display="F4",
        id="app.history",
        priority=True,
    ),
    Binding(
        "f5",
        "library",
        "Library",
        tooltip="Search every stored file, preview and export",
        key_display="F5",
        id="app.library",
        priority=True,
    ),
    WATCHES_KEY,
    Binding(
        "ctrl+q",
        "quit",
        "Quit",
        tooltip="Leave (asks first when jobs are running: they are cancelled)",
        id="app.quit",
        priority=True,
    ),
    # Not priority: typed into a text field, q and ? are letters of the text.
    Binding(
        "q",
        "quit_key",
        "Quit",
        tooltip="Leave, where no text field has the focus (asks first when jobs run)",
        id="app.quit_q",
        show=False,
    ),
    Binding(
        "question_mark",
        "help",
        "Help",
        tooltip="The keys of the screen in front, then every other key",
        key_display="?",
        id="app.help_key",
        show=False,
    ),
]
