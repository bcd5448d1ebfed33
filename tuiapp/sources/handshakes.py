"""Which browsers' TLS handshakes this installation can make, known without loading curl_cffi.

A source's :class:`~tuiapp.sources.base.Browser` names a curl_cffi impersonation target; the
targets the installed curl_cffi knows are read from its own files. ``fetch.browser`` refuses a
target it does not know; `tuiapp sources` and `tuiapp doctor` say whether each is there, without
loading curl_cffi or the HTTP client.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

__all__ = ["handshake_available"]

_TARGETS: frozenset[str] | None = None


def _known_targets() -> frozenset[str]:
    """The impersonation targets the installed curl_cffi knows, read without importing it."""
    global _TARGETS
    if _TARGETS is None:
        names: set[str] = set()
        spec = importlib.util.find_spec("curl_cffi")
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                source = Path(folder) / "requests" / "impersonate.py"
                try:
                    text = source.read_text(encoding="utf-8")
                except OSError:
                    continue
                names.update(re.findall(r'^\s*"([a-z0-9_]+)",\s*$', text, re.MULTILINE))
        _TARGETS = frozenset(names)
    return _TARGETS


def handshake_available(target: str) -> bool:
    """Whether curl_cffi is installed and knows ``target`` (checked without loading it)."""
    return target in _known_targets()
