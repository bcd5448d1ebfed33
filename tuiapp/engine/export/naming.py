"""Names of exported files: the default name, ``--name`` templates, and numbering of collisions.

A template such as ``{source}/{author}/{title}-{id}.{ext}`` is checked once (unknown fields are
named, absolute paths and ``..`` refused) and rendered per file; every field's value is made
safe for every common file system before it lands in a name: no control characters, none of
``<>:"/\\|?*``, no leading or trailing dots and spaces, no reserved Windows names (``CON``,
``NUL``, ``COM1`` ...), at most :data:`MAX_PART` bytes per folder or file name. A value never
makes a folder: only the template's own ``/`` does.
"""

from __future__ import annotations

import mimetypes
import re
import string
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tuiapp.errors import InvalidRequestError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tuiapp.jobs import AssetInfo, JobInfo

__all__ = ["FIELDS", "MAX_PART", "Names", "Template", "export_name", "extension", "safe_part"]

FIELDS: Final = (
    "source",
    "query",
    "title",
    "author",
    "id",
    "width",
    "height",
    "ext",
    "date",
    "job",
    "sha8",
)
"""The fields a template may use, in the order the help lists them."""

MAX_PART: Final = 180
"""Bytes (UTF-8) per folder or file name: under every file system's 255, leaving room for a
collision's `` (12)`` and a sidecar's ``.json``."""
MISSING: Final = "NA"
"""What a field the site did not give (an author, a size) renders as."""

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u200b-\u200f\u202a-\u202e\u2066-\u2069]+')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/svg+xml": ".svg", "video/quicktime": ".mov"}


def extension(mime: str) -> str:
    """The usual extension of a media type, with its dot (``.bin`` when there is none)."""
    return _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin"


def _url_stem(url: str) -> str:
    last = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[0] if "." in last else last


_MEDIA = ("image/", "video/", "audio/")


def _without_extension(title: str) -> str:
    """``pic.jpg`` -> ``pic``: a title that is a file name keeps no media extension of its own
    (the exported name gets the one of the stored file)."""
    stem, dot, suffix = title.rpartition(".")
    kind = mimetypes.guess_type(f"f.{suffix}")[0] if dot and stem and " " not in suffix else None
    return stem if kind is not None and kind.startswith(_MEDIA) else title


def export_name(asset: AssetInfo) -> str:
    """The default name: reads well, is safe on every common file system and unique per asset.

    ``<title or URL stem>-<asset id>[-<width>x<height>]<ext>``, e.g. ``dogs-12-640x480.png``:
    lower case, words joined by ``-``, at most 60 characters before the id. A trailing
    parenthesis that repeats the size (``dogs (640x480, #e74c3c)``) is left out.
    """
    size = f"{asset.width}x{asset.height}" if asset.width and asset.height else None
    title = (asset.title or "").strip()
    if size is not None:
        title = re.sub(rf"\s*[(\[][^)\]]*\b{size}\b[^)\]]*[)\]]\s*$", "", title)
    title = _without_extension(title)
    if not title:
        title = _url_stem(asset.url)
    stem = _UNSAFE.sub("-", title.lower()).replace("_", "-")
    stem = re.sub(r"[-. ]*[ -][-. ]*", "-", stem).strip("-. ")[:60].rstrip("-. ") or "file"
    ext = extension(asset.mime)
    return f"{stem}-{asset.id}-{size}{ext}" if size else f"{stem}-{asset.id}{ext}"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit].decode(errors="ignore")


def safe_part(text: str, *, limit: int = MAX_PART) -> str:
    """``text`` as one folder or file name every common file system takes.

    Control and bidi characters and ``<>:"/\\|?*`` become ``-``; runs of spaces one space;
    leading and trailing dots and spaces go (no hidden files, no ``..``, nothing Windows
    trims); a reserved Windows name gets a ``_`` in front; at most ``limit`` bytes; never empty.
    """
    text = unicodedata.normalize("NFC", text)
    text = _FORBIDDEN.sub("-", text)
    text = re.sub(r"\s+", " ", text).strip(". ")
    text = _cut(text, limit).rstrip(". ")
    if _RESERVED.match(text):
        text = "_" + text
    return text or "_"


def _field_value(text: str) -> str:
    """A field's value inside a name: safe characters, no folder, at most a name's length."""
    return safe_part(text.replace("/", "-").replace("\\", "-"), limit=MAX_PART) if text else ""


@dataclass(frozen=True, slots=True)
class Template:
    """A checked ``--name`` template; :meth:`render` gives a file's path relative to the folder.

    Raises (from the constructor):
        InvalidRequestError: an unknown field (named, with the fields there are), a format
            spec or conversion, an absolute path or a ``..`` folder, or an empty template.
    """

    text: str

    def __post_init__(self) -> None:
        raw = self.text
        if not raw.strip():
            raise InvalidRequestError("the name template is empty")
        if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw) or "\\" in raw:
            raise InvalidRequestError(
                f"the name template {raw!r:.80} makes an absolute path; use a path inside the"
                " folder (folders separated by /)"
            )
        try:
            parsed = list(string.Formatter().parse(raw))
        except ValueError as exc:
            raise InvalidRequestError(
                f"the name template {raw!r:.80} is not well formed ({exc}); write fields as"
                " {title}, and a brace itself as {{ or }}"
            ) from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in FIELDS:
                raise InvalidRequestError(
                    f"unknown field {{{name}}} in the name template; the fields are"
                    f" {', '.join('{' + f + '}' for f in FIELDS)}"
                )
            if spec or conversion:
                raise InvalidRequestError(
                    f"the name template's field {{{name}}} takes no format (write just {{{name}}})"
                )
        if any(part.strip() in ("..", ".") for part in raw.split("/")):
            raise InvalidRequestError(
                f"the name template {raw!r:.80} climbs out of the folder (.. or .); names"
                " stay inside it"
            )

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(n for _, n, _, _ in string.Formatter().parse(self.text) if n is not None)

    def render(self, asset: AssetInfo, job: JobInfo | None) -> str:
        """The path of ``asset`` (``/`` between folders), every part safe; its extension is
        added when the template leaves it out."""
        values = _values(asset, job)
        ext = values["ext"]
        parts = []
        for raw_part in self.text.split("/"):
            rendered = "".join(
                literal + (_field_value(values[name]) if name is not None else "")
                for literal, name, _, _ in string.Formatter().parse(raw_part)
            )
            parts.append(rendered)
        last = parts[-1]
        if not last.lower().endswith("." + ext.lower()):
            last = f"{last}.{ext}"
        stem, dot, suffix = last.rpartition(".")
        last = f"{safe_part(stem, limit=MAX_PART - len(suffix) - 1)}{dot}{suffix}"
        folders = [safe_part(p) for p in parts[:-1] if p.strip()]
        return "/".join([*folders, last])


def _values(asset: AssetInfo, job: JobInfo | None) -> dict[str, str]:
    title = (asset.title or "").strip() or _url_stem(asset.url) or MISSING
    return {
        "source": asset.source,
        "query": (job.query if job is not None else "").strip() or MISSING,
        "title": title,
        "author": (asset.author or "").strip() or MISSING,
        "id": str(asset.id),
        "width": str(asset.width) if asset.width else MISSING,
        "height": str(asset.height) if asset.height else MISSING,
        "ext": extension(asset.mime).lstrip("."),
        "date": asset.created_at.strftime("%Y-%m-%d"),
        "job": str(asset.job_id),
        "sha8": asset.sha256[:8] or MISSING,
    }


class Names:
    """The names given so far in one export; a taken one gets `` (2)``, `` (3)``... before its
    extension. Names are compared ignoring case (two files differing in case alone would be one
    on Windows and macOS)."""

    def __init__(self, namer: Callable[[AssetInfo, JobInfo | None], str]) -> None:
        self._namer = namer
        self._taken: set[str] = set()

    def claim(self, path: str) -> str:
        """``path``, or its first free numbered form; reserved for this export from now on."""
        folder, slash, name = path.rpartition("/")
        stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
        candidate = path
        n = 1
        while candidate.lower() in self._taken or candidate.lower() + ".json" in self._taken:
            n += 1
            candidate = f"{folder}{slash}{stem} ({n}){dot}{suffix}"
        self._taken.add(candidate.lower())
        return candidate

    def reserve(self, path: str) -> None:
        """Keep ``path`` (a sidecar, CREDITS.md) from being given to a file."""
        self._taken.add(path.lower())

    def name(self, asset: AssetInfo, job: JobInfo | None) -> str:
        """``asset``'s path in this export, claimed."""
        return self.claim(self._namer(asset, job))

    @staticmethod
    def of(template: Template | None) -> Names:
        if template is None:
            return Names(lambda asset, _job: export_name(asset))
        return Names(template.render)
