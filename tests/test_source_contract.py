"""The contract every searching source keeps, one suite fed by a table per source.

A search without hits is an empty search (never an error, never a block); an answer the source
cannot read is a format change that says what came back (``HTTP 200`` and its first bytes).
Each source's own file (``test_source_<name>.py``) keeps what is particular to its site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.replay import Reply, json_reply
from tests.sourcekit import fixture_text, html_reply, search
from tuiapp import sources as registry
from tuiapp.errors import FormatChangedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer


def _page(path: str, name: str, fixture: str) -> Callable[[ReplayServer], None]:
    """Serve one hand-written page of ``name``'s fixtures at ``path``."""

    def serve(replay: ReplayServer) -> None:
        replay.add(path, html_reply(fixture_text("handwritten", name, fixture)))

    return serve


def _json(
    path: str, body: object, *, before: tuple[tuple[str, str, str], ...] = ()
) -> Callable[[ReplayServer], None]:
    """Serve ``body`` as JSON at ``path`` (after the hand-written pages ``before``)."""

    def serve(replay: ReplayServer) -> None:
        for page_path, name, fixture in before:
            _page(page_path, name, fixture)(replay)
        replay.add(path, json_reply(body))

    return serve


def _raw(path: str, body: bytes) -> Callable[[ReplayServer], None]:
    def serve(replay: ReplayServer) -> None:
        replay.add(path, Reply(body, 200, {}, "application/json"))

    return serve


@dataclass(frozen=True)
class Table:
    """One source's fixtures for the contract."""

    name: str
    empty: Callable[[ReplayServer], None]
    """Serves a search that has no hits."""
    unreadable: tuple[tuple[str, Callable[[ReplayServer], None]], ...] = ()
    """(id, serve) of answers the source cannot read."""
    key: str | None = None
    query: str = "zzqxv glorp"


_DDG_TOKEN = (("/", "duckduckgo_images", "search_page_handwritten.html"),)
_SHELL = (
    b"<!doctype html><html><head><script>(function(){window.google={}})();</script>"
    b"<noscript>Enable JavaScript</noscript>" + b" " * 3000
)

TABLES = (
    Table("bing_images", _page("/images/async", "bing_images", "no_results_handwritten.html")),
    Table(
        "duckduckgo_images",
        _json("/i.js", {"results": [], "response_type": "images"}, before=_DDG_TOKEN),
    ),
    Table(
        "yahoo_images",
        _page("/search/images", "yahoo_images", "no_results_handwritten.html"),
    ),
    Table(
        "yandex_images",
        _page("/images/search", "yandex_images", "no_results_handwritten.html"),
    ),
    Table(
        "google_images",
        _page("/wml/search", "google_images", "no_results_handwritten.html"),
        unreadable=(
            (
                "javascript-shell",
                lambda r: r.add("/wml/search", Reply(_SHELL, 200, {}, "text/html")),
            ),
        ),
    ),
    Table(
        "unsplash",
        _json("/search/photos", {"total": 0, "total_pages": 0, "results": []}),
        unreadable=(
            ("html", _raw("/search/photos", b"<html>maintenance</html>")),
            ("no-results-key", _raw("/search/photos", b'{"photos": []}')),
            ("results-without-urls", _raw("/search/photos", b'{"results": [{"id": "x"}]}')),
        ),
        key="test-access-key",
    ),
    Table(
        "pexels",
        _json("/v1/search", {"page": 1, "per_page": 15, "photos": [], "total_results": 0}),
        unreadable=(
            ("html", _raw("/v1/search", b"<html>oops</html>")),
            ("no-photos-key", _raw("/v1/search", b'{"results": []}')),
            ("photos-without-src", _raw("/v1/search", b'{"photos": [{"id": 1, "src": {}}]}')),
        ),
        key="test-pexels-key",
    ),
    Table(
        "pixabay",
        _json("/api/", {"total": 0, "totalHits": 0, "hits": []}),
        unreadable=(
            ("no-hits-key", _raw("/api/", b'{"total": 1}')),
            (
                "hits-without-image",
                _raw("/api/", b'{"hits": [{"id": 1, "pageURL": "https://pixabay.com/x"}]}'),
            ),
        ),
        key="12345678-secretpixabaykey0000",
    ),
)

UNREADABLE = [(t, serve) for t in TABLES for _, serve in t.unreadable]
UNREADABLE_IDS = [f"{t.name}-{case}" for t in TABLES for case, _ in t.unreadable]


def test_every_searching_source_has_a_table() -> None:
    searching = {c.name for c in registry.all_sources() if c.kind in ("image_search", "image_api")}
    assert {t.name for t in TABLES} == searching


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
async def test_a_search_without_hits_is_empty_not_an_error(
    table: Table, replay: ReplayServer, make_settings: MakeSettings
) -> None:
    table.empty(replay)
    source = registry.get(table.name)()
    assert await search(make_settings(), replay, source, table.query, api_key=table.key) == []
    assert replay.requests, "the source asked its site"


@pytest.mark.parametrize(("table", "serve"), UNREADABLE, ids=UNREADABLE_IDS)
async def test_an_answer_that_cannot_be_read_is_a_format_change(
    table: Table,
    serve: Callable[[ReplayServer], None],
    replay: ReplayServer,
    make_settings: MakeSettings,
) -> None:
    serve(replay)
    source = registry.get(table.name)()
    with pytest.raises(FormatChangedError, match="HTTP 200"):
        await search(make_settings(), replay, source, "mountain lake", api_key=table.key)
