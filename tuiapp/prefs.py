"""The terminal app's preferences file: theme, last ticked sources, files per source (no UI here).

A tiny TOML file under ``$XDG_CONFIG_HOME/tuiapp/`` (``~/.config/tuiapp/`` when unset), read
with :mod:`tomllib` and written by hand (three keys need no library). A file that cannot be
read or holds wrong types is ignored, and the caller is told why so it can say so.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Prefs", "default_prefs_path", "load_prefs", "save_prefs"]

log = logging.getLogger(__name__)

FILE_NAME = "tui.toml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prefs:
    """What the terminal app remembers between runs; None or empty means "not chosen yet"."""

    theme: str | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    count: int | None = None


def default_prefs_path(env: dict[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/tuiapp/tui.toml``, or ``~/.config/tuiapp/tui.toml``."""
    environ = os.environ if env is None else env
    base = environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "tuiapp" / FILE_NAME


def load_prefs(path: Path) -> tuple[Prefs, str | None]:
    """Read the preferences at ``path``.

    Returns:
        The preferences (defaults when the file is missing or broken) and, when the file was
        there but could not be used, one line saying why.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Prefs(), None
    except OSError as exc:
        return Prefs(), f"{path}: cannot be read ({exc.strerror or exc}); using defaults"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Prefs(), f"{path}: not valid TOML ({exc}); using defaults"
    theme = data.get("theme")
    sources = data.get("sources", [])
    count = data.get("count")
    if theme is not None and not isinstance(theme, str):
        return Prefs(), f"{path}: theme must be a string; using defaults"
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        return Prefs(), f"{path}: sources must be a list of names; using defaults"
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        return Prefs(), f"{path}: count must be a whole number of at least 1; using defaults"
    return Prefs(theme=theme, sources=tuple(sources), count=count), None


def _toml_string(text: str) -> str:
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return json.dumps(text, ensure_ascii=True)


def save_prefs(path: Path, prefs: Prefs) -> str | None:
    """Write ``prefs`` to ``path`` (atomically); returns why it could not, or None."""
    lines = ["# tuiapp terminal app preferences (written by the app; safe to edit)"]
    if prefs.theme is not None:
        lines.append(f"theme = {_toml_string(prefs.theme)}")
    lines.append("sources = [" + ", ".join(_toml_string(s) for s in prefs.sources) + "]")
    if prefs.count is not None:
        lines.append(f"count = {int(prefs.count)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("preferences not saved to %s: %s", path, exc)
        return f"{path}: not saved ({exc.strerror or exc})"
    return None
