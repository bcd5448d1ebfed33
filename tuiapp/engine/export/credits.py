"""Credits: the attribution each stored file's source asks for, as ``CREDITS.md`` and
``credits.json``.

The wording is each source's own: Unsplash's guidelines ask for "Photo by NAME on Unsplash"
with both linked (links tagged as referrals, as kept by the source); Pexels' for "Photo by NAME
on Pexels" linking the photographer and Pexels; Pixabay's for "Image by NAME from Pixabay".
Files of other sources carry a licence or author when the site gave one and are listed under
"Other files" so nothing that names its maker is dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

if TYPE_CHECKING:
    from tuiapp.jobs import AssetInfo

__all__ = ["ATTRIBUTED", "Credit", "Credits", "credit_of"]


@dataclass(frozen=True, slots=True)
class _Terms:
    site: str
    home: str
    wording: str
    """With ``{what}`` (Photo, Video, Image) and ``{author}``."""


_TERMS: Final = {
    "unsplash": _Terms("Unsplash", "https://unsplash.com/", "{what} by {author} on {site}"),
    "pexels": _Terms("Pexels", "https://www.pexels.com/", "{what} by {author} on {site}"),
    "pixabay": _Terms("Pixabay", "https://pixabay.com/", "Image by {author} from {site}"),
}
ATTRIBUTED: Final = frozenset(_TERMS)
"""The sources whose terms ask for attribution."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    """One exported file's credit."""

    path: str
    """The file's name in the export."""
    source: str
    text: str
    """The attribution as the source's terms word it (plain text)."""
    author: str | None
    author_url: str | None
    site: str | None
    site_url: str | None
    page_url: str | None
    license: str | None
    required: bool
    """The source's terms ask for this credit."""


def _referral_like(home: str, author_url: str | None) -> str:
    """The site's home page carrying the same referral tags as the author's link (Unsplash)."""
    if not author_url:
        return home
    tags = [(k, v) for k, v in parse_qsl(urlsplit(author_url).query) if k.startswith("utm_")]
    return f"{home}?{urlencode(tags)}" if tags else home


def credit_of(asset: AssetInfo, path: str) -> Credit | None:
    """The credit of one exported file; None when its source gave nothing to credit."""
    terms = _TERMS.get(asset.source)
    author = (asset.author or "").strip() or None
    if terms is not None:
        what = "Video" if asset.kind == "video" else "Photo"
        text = terms.wording.format(
            what=what, author=author or "an unnamed author", site=terms.site
        )
        return Credit(
            path=path,
            source=asset.source,
            text=text,
            author=author,
            author_url=asset.author_url,
            site=terms.site,
            site_url=_referral_like(terms.home, asset.author_url),
            page_url=asset.page_url,
            license=asset.license,
            required=True,
        )
    if author is None and not asset.license:
        return None
    parts = [f"by {author}" if author else None, asset.license]
    return Credit(
        path=path,
        source=asset.source,
        text=" · ".join(p for p in parts if p),
        author=author,
        author_url=asset.author_url,
        site=None,
        site_url=None,
        page_url=asset.page_url,
        license=asset.license,
        required=False,
    )


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _md(text: str) -> str:
    """Remote text as inert Markdown: no links, emphasis or HTML of its own, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _code(path: str) -> str:
    """A file's name as inline code (its backticks, which no safe name lacks, made quotes)."""
    return "`" + path.replace("`", "'") + "`"


def _link(text: str, url: str | None) -> str:
    if not url or not url.startswith(("https://", "http://")):
        return _md(text)
    return f"[{_md(text)}](<{url.replace('>', '%3E').replace(' ', '%20')}>)"


class Credits:
    """The credits of one export, gathered file by file, written at its end."""

    def __init__(self) -> None:
        self.items: list[Credit] = []

    def add(self, asset: AssetInfo, path: str) -> None:
        credit = credit_of(asset, path)
        if credit is not None:
            self.items.append(credit)

    def markdown(self) -> str:
        required = [c for c in self.items if c.required]
        other = [c for c in self.items if not c.required]
        lines = ["# Credits", ""]
        if not self.items:
            lines.append("No file of this export names an author or a licence.")
        if required:
            lines += ["Attribution the sources' terms ask for:", ""]
            for c in required:
                lines.append(f"- {_code(c.path)}: {_credit_line(c)}")
            lines.append("")
        if other:
            lines += ["## Other files", ""]
            for c in other:
                page = f" ({_link('page', c.page_url)})" if c.page_url else ""
                lines.append(f"- {_code(c.path)}: {_md(c.text)}{page}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def json(self) -> str:
        return json.dumps(
            {"credits": [asdict(c) for c in self.items]}, indent=2, ensure_ascii=False
        )


def _credit_line(c: Credit) -> str:
    """``Photo by [NAME](author) on [Unsplash](site)``, the source's wording with its links."""
    terms = _TERMS[c.source]
    text = terms.wording.format(
        what="Video" if c.text.startswith("Video") else "Photo",
        author=_link(c.author or "an unnamed author", c.author_url),
        site=_link(terms.site, c.site_url),
    )
    page = f" ({_link('page', c.page_url)})" if c.page_url else ""
    return text + page
