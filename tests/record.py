"""`make record`: one real answer per scraper and API, saved byte for byte into fixtures/recorded/.

Needs a machine with internet (and, for the APIs, their keys in the environment: a source whose
key is not set is skipped, saying so). Each source runs as the engine runs it, through the
project's fetcher, with its real base URL, for the first page of one query; every answer it
gets is written as ``recorded/<source>/<nn>_<path>.<ext>`` next to a ``.provenance.txt`` holding
the URL (the key replaced by ``<KEY>``), the date, the status and the response headers: the
format ``tests/test_fixtures.py`` checks.

    python -m tests.record                      # every source below
    python -m tests.record pexels yahoo_images  # only these
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from tests.replay import RECORDED
from tuiapp import sources as registry
from tuiapp.config import load_settings
from tuiapp.errors import TuiappError
from tuiapp.fetch import Fetcher
from tuiapp.sources.base import SourceContext, SourceQuery

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from tuiapp.config import Settings
    from tuiapp.sources.base import Browser, HttpClient, HttpResponse

__all__ = ["RECORDED_SOURCES", "Recorder", "main", "record"]

RECORDED_SOURCES: dict[str, str] = {
    "bing_images": "mountain lake",
    "duckduckgo_images": "mountain lake",
    "yahoo_images": "mountain lake",
    "yandex_images": "mountain lake",
    "google_images": "mountain lake",
    "unsplash": "mountain lake",
    "pexels": "mountain lake",
    "pixabay": "mountain lake",
    "picsum": "mountain lake",
    "dailymotion": "mountain lake",
}
"""The scrapers and APIs recorded, each with the query its first page is asked for."""

_EXTENSIONS = {
    "application/json": "json",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/javascript": "js",
    "application/javascript": "js",
    "application/x-javascript": "js",
    "text/plain": "txt",
}
_PRIVATE_HEADERS = {"set-cookie"}
"""Response headers whose values are a visitor's own (a session), not the site's format."""


class Recorder:
    """The fetcher as a source sees it, writing every answer it hands over into ``folder``."""

    def __init__(
        self,
        inner: HttpClient,
        folder: Path,
        *,
        secrets: Sequence[str] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.inner = inner
        self.folder = folder
        self.secrets = [s for s in secrets if s]
        self.clock = clock
        self.written: list[Path] = []

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
        browser: Browser | None = None,
    ) -> HttpResponse:
        resp = await self.inner.get(
            url, params=params, headers=headers, allow_status=allow_status, browser=browser
        )
        self.write(_with_params(url, params), resp)
        return resp

    def proxy_for(self, url: str) -> str | None:
        return self.inner.proxy_for(url)

    def write(self, asked: str, resp: HttpResponse) -> Path:
        """Save ``resp``'s body as it came and its provenance; returns the body's path."""
        for secret in self.secrets:
            if secret.encode() in resp.body:
                raise ValueError(f"the answer from {self._hide(asked)} holds a key: not saved")
        kind = (resp.header("content-type") or "").split(";")[0].strip().lower()
        stem = f"{len(self.written) + 1:02d}_{_slug(urlsplit(asked).path)}"
        self.folder.mkdir(parents=True, exist_ok=True)
        body = self.folder / f"{stem}.{_EXTENSIONS.get(kind, 'bin')}"
        body.write_bytes(resp.body)
        lines = [
            f"url: {self._hide(asked)}",
            f"date: {self.clock().strftime('%Y-%m-%dT%H:%M:%SZ')}",
            f"status: {resp.status}",
        ]
        if resp.url != asked:
            lines.append(f"final_url: {self._hide(resp.url)}")
        lines.append("recorded_by: python -m tests.record (make record)")
        lines.append("headers:")
        for name, value in resp.headers.items():
            shown = "<not kept>" if name.lower() in _PRIVATE_HEADERS else self._hide(value)
            lines.append(f"  {name}: {shown}")
        (self.folder / f"{stem}.provenance.txt").write_text("\n".join(lines) + "\n")
        self.written.append(body)
        return body

    def _hide(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<KEY>")
        return text


def _with_params(url: str, params: Mapping[str, str | int] | None) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(list(params.items()))) if q)
    return urlunsplit(parts._replace(query=query))


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")[:40] or "root"


async def record(settings: Settings, names: Sequence[str], out: Path = RECORDED) -> dict[str, str]:
    """Record the first page of each named source into ``out/<source>/``.

    Returns:
        Per source, what happened: the number of answers saved, or why none were.
    """
    fetcher = Fetcher(settings)
    await fetcher.start()
    results: dict[str, str] = {}
    try:
        for name in names:
            results[name] = await _record_one(settings, fetcher, name, out)
    finally:
        await fetcher.close()
    return results


async def _record_one(settings: Settings, fetcher: Fetcher, name: str, out: Path) -> str:
    cls = registry.get(name)
    key = settings.api_key(cls.key_setting) if cls.key_setting else None
    if cls.key_setting and key is None:
        return f"skipped: {cls.key_setting} is not set"
    with tempfile.TemporaryDirectory(prefix="tuiapp-record-") as scratch:
        staging = Path(scratch) / name
        recorder = Recorder(fetcher, staging, secrets=[key] if key else [])
        ctx = SourceContext(
            http=recorder,
            base_url=settings.base_urls.get(name, cls.base_url),
            api_key=key,
            user_agent=settings.user_agent,
            scratch_dir=Path(scratch) / "scratch",
            log=logging.getLogger(f"tuiapp.record.{name}"),
            cancelled=lambda: False,
            notice=lambda text: None,
            settings=dict(settings.source_settings.get(name, {})),
        )
        query = SourceQuery(text=RECORDED_SOURCES.get(name, cls.example), count=1)
        items = cls().iterate(query, ctx)
        error: str | None = None
        try:
            await anext(items, None)  # the first page is enough
        except (TuiappError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(Exception):
                await items.aclose()  # type: ignore[attr-defined]
        if not recorder.written:
            return f"nothing saved ({error or 'no request made'})"
        # A new recording replaces the old one of that source whole, never a mix of both.
        target = out / name
        if target.exists():
            for old in target.iterdir():
                old.unlink()
        target.mkdir(parents=True, exist_ok=True)
        for path in staging.iterdir():
            path.replace(target / path.name)
    saved = f"{len(recorder.written)} answers saved"
    return f"{saved}, then {error}" if error else saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.record", description=__doc__)
    parser.add_argument("sources", nargs="*", help="only these (default: all recorded sources)")
    parser.add_argument("--out", type=Path, default=RECORDED, help="default: %(default)s")
    args = parser.parse_args(argv)
    names = args.sources or list(RECORDED_SOURCES)
    unknown = [n for n in names if n not in registry.names()]
    if unknown:
        parser.error(f"unknown source(s): {', '.join(unknown)}")
    results = asyncio.run(record(load_settings(), names, args.out))
    width = max(len(n) for n in results)
    for name, result in results.items():
        print(f"{name:<{width}}  {result}")
    return 0 if all(r.endswith("saved") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
