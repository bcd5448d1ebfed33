"""The terminal app shows the end of its log file, as data: no markup, no control codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.widgets import Static

from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.screens import ErrorModal
from tuiapp.text import LOG_NAME, log_tail

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


async def test_the_palettes_show_the_log_action_opens_the_logs_last_lines(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.settings.data_dir.mkdir(parents=True)
    lines = [f"line {i}" for i in range(500)] + ["WARNING [bold]title[/] \\x1b]2;pwned\\x07"]
    (engine.settings.data_dir / LOG_NAME).write_text("\n".join(lines) + "\n")
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.run_action("show_log")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        text = str(app.screen.query_one("#error-text", Static).render())
    assert "line 499" in text and "line 100" not in text  # the end, not the whole file
    assert "[bold]title[/]" in text  # shown as written, not read as markup


def test_log_tail_says_when_there_is_no_log_yet(tmp_path: Path) -> None:
    assert "No log yet" in log_tail(tmp_path / LOG_NAME)
    big = tmp_path / "big.log"
    big.write_text("".join(f"{i:06d}\n" for i in range(100_000)))
    tail = log_tail(big, lines=3, window=4096)
    assert tail.splitlines() == ["099997", "099998", "099999"]
