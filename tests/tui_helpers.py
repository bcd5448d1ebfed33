"""Shared set-up of the TUI tests: a fake engine, an app with a frozen clock, waiting helpers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tests.fakes import EPOCH, FakeEngine
from tuiapp.app import TuiApp
from tuiapp.config import Settings, sqlite_url

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from textual.pilot import Pilot

__all__ = ["FROZEN_NOW", "fake_engine", "make_app", "wait_until"]

FROZEN_NOW = EPOCH.timestamp() + 60 + 5
"""The app's clock in tests: five seconds after job 1 (created at EPOCH + 1 min) started."""


def fake_engine(tmp: Path, *, timeout: float = 60.0) -> FakeEngine:
    return FakeEngine(
        Settings(
            data_dir=tmp / "data",
            database_url=sqlite_url(tmp / "data" / "tuiapp.db"),
            global_job_timeout=timeout,
        )
    )


def make_app(
    engine: FakeEngine,
    *,
    api_url: str | None = "http://127.0.0.1:8765",
    api_error: str | None = None,
    user_name: str | None = None,
) -> TuiApp:
    return TuiApp(
        engine,
        api_url=api_url,
        api_error=api_error,
        user_name=user_name,
        clock=lambda: FROZEN_NOW,
        # Never the real ~/.config: each test's preferences live beside its data.
        prefs_path=engine.settings.data_dir.parent / "config" / "tuiapp" / "tui.toml",
    )


async def wait_until(
    pilot: Pilot[None], check: Callable[[], bool], limit: float = 5.0, what: str = ""
) -> None:
    """Let the app run until ``check()`` holds; fail after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await pilot.pause(0.05)
