"""Text for people: remote text made safe to show, and sizes in one unit style.

Remote text: control codes and bidi overrides become visible escapes.

Titles, authors, error messages, URLs and file names come from remote sites. Written raw to a
terminal, ``ESC]2;...`` sets its title and ``ESC[31m`` its colours; a right-to-left override
reorders what the user reads. Every client runs such text through :func:`printable` at the edge
where it is shown. This module never imports a user interface (it is part of the headless core).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["LOG_NAME", "PrintableFormatter", "human_bytes", "log_tail", "printable"]

LOG_NAME = "tuiapp.log"
"""The log file every command and the app write, in the data folder."""


def log_tail(path: Path, lines: int = 300, window: int = 256 * 1024) -> str:
    """The last ``lines`` lines of a log file (read from its last ``window`` bytes only)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - window))
            data = fh.read()
    except FileNotFoundError:
        return f"No log yet: {path} is written once something is logged."
    except OSError as exc:
        return f"Cannot read {path}: {exc.strerror or exc}"
    text = data.decode("utf-8", errors="replace")
    kept = text.splitlines()[-lines:]
    if size > window and len(kept) == len(text.splitlines()):
        kept = kept[1:]  # the first line read may be cut
    return "\n".join(kept)


_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_bytes(n: float) -> str:
    """``1234567`` -> ``"1.2 MB"``: decimal units, the same in the CLI and the terminal app."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0 (ESC, BEL, CR, LF ...), DEL and C1 (CSI 0x9b, OSC 0x9d ...)
    "\u061c\u200e\u200f"  # bidi marks (Arabic letter mark, LRM, RLM)
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides and isolates
    "\u2028\u2029"  # line and paragraph separators: a line break in disguise
    "\ud800-\udfff"  # lone surrogates: not encodable, a print would crash
    "]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character and bidi control replaced by a visible escape.

    ``"a\\x1b[31mb"`` becomes ``"a\\\\x1b[31mb"`` (a backslash, ``x1b``, then the rest as
    plain characters). Line breaks and tabs are escaped too: remote text is one line of data,
    never layout. Other text, including any non-Latin script, is returned unchanged.

    Args:
        text: text from outside (a remote site, a file name, an error carrying either).

    Returns:
        The text, safe to write to a terminal.
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


class PrintableFormatter(logging.Formatter):
    """A log formatter that escapes control characters in every line it writes.

    Log messages quote URLs and errors from remote sites; someone will ``tail`` the log in a
    terminal. Line breaks between lines are kept (a traceback stays readable); a ``\\r`` or an
    ``ESC`` inside a line is escaped.
    """

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(printable(line) for line in super().format(record).split("\n"))
