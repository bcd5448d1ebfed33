"""The layering rules hold: the core loads no UI, sources follow the conventions."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tuiapp import sources as registry

if TYPE_CHECKING:
    from tuiapp.sources.base import Source


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_engine_loads_neither_textual_nor_aiohttp_web() -> None:
    loaded = _loaded_after("import tuiapp.engine")
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}
    assert "aiohttp.web" not in loaded


def test_cli_help_imports_no_engine() -> None:
    """`tuiapp --help` must start fast: the engine and its libraries load only when used."""
    loaded = _loaded_after("import tuiapp.cli")
    assert "tuiapp.engine" not in loaded
    assert "tortoise" not in loaded
    assert "yt_dlp" not in loaded


@pytest.mark.parametrize("cls", registry.all_sources(), ids=lambda c: c.name)
def test_every_source_follows_the_conventions(cls: type[Source]) -> None:
    assert cls.__module__ == f"tuiapp.sources.{cls.name}"
    assert cls.__name__.lower() == cls.name.replace("_", "") + "source"
    assert registry.get(cls.name) is cls
    if cls.pattern is not None and cls.example.startswith("http"):
        assert cls.matches(cls.example)
        assert registry.find(cls.example) is cls
    cls()  # constructing a source does no I/O and needs no arguments


def test_unknown_source_names_the_known_ones() -> None:
    from tuiapp.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match=r"unknown source 'nope'.*picsum"):
        registry.get("nope")


def test_listing_the_sources_loads_no_database_layer_nor_video_library() -> None:
    """`tuiapp sources` reads declarations and settings: no Engine, no ORM, no yt-dlp."""
    loaded = _loaded_after(
        "from tuiapp.config import load_settings; from tuiapp.engine import source_infos;"
        " source_infos(load_settings())"
    )
    assert "tuiapp.engine.service" not in loaded
    assert "tortoise" not in loaded
