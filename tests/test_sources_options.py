"""Job options: each source declares what it reads, and a job's options are checked at submit."""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import AsyncGenerator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.serverkit import JSON_TYPE
from tests.test_cli import _picsum, _tuiapp
from tuiapp import sources as registry
from tuiapp.errors import InvalidRequestError, SourceError
from tuiapp.jobs import JobSpec
from tuiapp.server import create_app
from tuiapp.sources.base import (
    MAX_TEXT,
    Option,
    Source,
    SourceContext,
    SourceQuery,
    convert_options,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pytest_aiohttp import AiohttpClient

    from tests.conftest import EngineFactory
    from tests.replay import ReplayServer
    from tuiapp.sources.base import Found


ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = ROOT / "tuiapp" / "sources"


# --- declarations ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", registry.all_sources(), ids=lambda c: c.name)
def test_every_source_declares_its_options_well_formed(cls: type[Source]) -> None:
    names = [o.name for o in cls.options]
    assert len(set(names)) == len(names)
    for option in cls.options:
        assert isinstance(option, Option)
        assert option.problems() == []
        assert cls.option(option.name) is option
        assert option.help.strip() and option.expects()


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (Option("Width", "int", "x"), "lower_snake_case"),
        (Option("w", "int", " "), "needs a help text"),
        (Option("w", "choice", "x"), "choices go with kind 'choice'"),
        (Option("w", "str", "x", choices=("a",)), "choices go with kind 'choice'"),
        (Option("w", "choice", "x", choices=("A",)), "lower case"),
        (Option("w", "choice", "x", choices=("a", "a")), "a choice twice"),
        (Option("w", "str", "x", minimum=1), "needs a number kind"),
        (Option("w", "int", "x", minimum=5, maximum=1), "minimum above maximum"),
        (Option("w", "int", "x", pattern="a", shape="a"), "needs kind 'str'"),
        (Option("w", "str", "x", pattern="a"), "needs a shape"),
        (Option("w", "text", "x"), "unknown kind"),  # type: ignore[arg-type]
    ],
)
def test_a_badly_declared_option_is_refused_when_the_source_class_is_made(
    option: Option, problem: str
) -> None:
    assert any(problem in p for p in option.problems())
    with pytest.raises(TypeError, match=problem):

        class BadSource(Source):
            name = "bad"
            kind = "image_api"
            description = "bad"
            base_url = "https://example.org"
            example = "x"
            options = (option,)

            def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
                raise NotImplementedError


def test_an_option_declared_twice_is_refused() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class TwiceSource(Source):
            name = "twice"
            kind = "image_api"
            description = "twice"
            base_url = "https://example.org"
            example = "x"
            options = (Option("w", "int", "x"), Option("w", "str", "y"))

            def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
                raise NotImplementedError


def test_no_source_reads_options_except_through_its_declarations() -> None:
    """`query.options[...]` or `ctx.options` in a source would be an option nobody checks."""
    offenders = []
    for path in sorted(SOURCES_DIR.rglob("*.py")):
        if path.name == "base.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "options"
                and isinstance(node.value, ast.Name)
                and node.value.id in {"query", "ctx", "spec"}
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


class _Recording(Mapping[str, Any]):
    """An empty options mapping that remembers every key a source looked up."""

    def __init__(self) -> None:
        self.looked: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.looked.add(key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.looked.add(key)
        return default

    def __contains__(self, key: object) -> bool:
        self.looked.add(str(key))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class _Stop(Exception):
    """What the stub HTTP client raises: a source under this test never reaches a network."""


class _NoHttp:
    async def get(self, url: str, **kwargs: Any) -> Any:
        raise _Stop(url)

    def proxy_for(self, url: str) -> str | None:
        return None


@pytest.mark.parametrize("cls", registry.all_sources(), ids=lambda c: c.name)
async def test_every_source_reads_exactly_the_options_it_declares(
    cls: type[Source], tmp_path: Path
) -> None:
    """Run each source on an empty recording mapping until its first request or item."""
    seen = _Recording()
    text = cls.example if cls.takes_url() and not cls.takes_query else "red panda"
    ctx = SourceContext(
        http=_NoHttp(),
        base_url=cls.base_url,
        api_key="key",
        user_agent="test",
        scratch_dir=tmp_path,
        log=logging.getLogger("test"),
        cancelled=lambda: False,
        notice=lambda _: None,
        # A video source stops at its missing cookies file, before yt-dlp goes anywhere.
        settings={"cookies": str(tmp_path / "none.txt")},
    )
    query = SourceQuery(text=text, count=1, is_url=text.startswith("http"), options=seen)
    items = cls().iterate(query, ctx)
    assert isinstance(items, AsyncGenerator)
    try:
        await items.__anext__()
    except (_Stop, SourceError, StopAsyncIteration):
        pass
    finally:
        await items.aclose()
    assert seen.looked == {o.name for o in cls.options}


# --- one value ---------------------------------------------------------------------------------

WIDTH = Option("width", "int", "w", minimum=1, maximum=5000)
RATIO = Option("ratio", "float", "r", minimum=0.5)
FLAG = Option("flag", "bool", "f")
KIND = Option("kind", "choice", "k", choices=("png", "jpeg"))
TEXT = Option("text", "str", "t")
SIZE = Option("size", "str", "s", pattern=r"\d{1,4}x\d{1,4}", shape="WIDTHxHEIGHT such as 3x2")


@pytest.mark.parametrize(
    ("option", "given", "read"),
    [
        (WIDTH, "300", 300),
        (WIDTH, " 300 ", 300),
        (WIDTH, "+7", 7),
        (WIDTH, 300, 300),
        (WIDTH, 300.0, 300),
        (WIDTH, "5000", 5000),
        (RATIO, "1.5", 1.5),
        (RATIO, 2, 2.0),
        (RATIO, "1e1", 10.0),
        (FLAG, "true", True),
        (FLAG, "Yes", True),
        (FLAG, "on", True),
        (FLAG, "1", True),
        (FLAG, "false", False),
        (FLAG, "NO", False),
        (FLAG, "0", False),
        (FLAG, True, True),
        (FLAG, 0, False),
        (KIND, "PNG", "png"),
        (KIND, " jpeg", "jpeg"),
        (TEXT, "en-GB", "en-GB"),
        (TEXT, 123, "123"),
        (SIZE, "640x480", "640x480"),
    ],
)
def test_an_option_value_is_read_as_its_type(option: Option, given: Any, read: Any) -> None:
    value = option.convert("src", given)
    assert value == read
    assert type(value) is type(read)


@pytest.mark.parametrize(
    ("option", "given", "message"),
    [
        (WIDTH, "abc", "src: option 'width' must be a whole number from 1 to 5000, not 'abc'"),
        (WIDTH, "0", "must be a whole number from 1 to 5000, not '0'"),
        (WIDTH, 5001, "must be a whole number from 1 to 5000, not 5001"),
        (WIDTH, "2.5", "not '2.5'"),
        (WIDTH, 2.5, "not 2.5"),
        (WIDTH, True, "not true"),
        (WIDTH, "9" * 5000, "must be a whole number from 1 to 5000, not '99999"),
        (RATIO, "0.1", "src: option 'ratio' must be a number of at least 0.5, not '0.1'"),
        (RATIO, "nan", "not 'nan'"),
        (RATIO, "inf", "not 'inf'"),
        (RATIO, "1e400", "not '1e400'"),
        (FLAG, "maybe", "src: option 'flag' must be true or false, not 'maybe'"),
        (FLAG, 2, "must be true or false, not 2"),
        (KIND, "gif", "src: option 'kind' must be one of png, jpeg, not 'gif'"),
        (KIND, False, "must be one of png, jpeg, not false"),
        (TEXT, True, "src: option 'text' must be text, not true"),
        (TEXT, "x" * (MAX_TEXT + 1), f"must be at most {MAX_TEXT} characters long"),
        (SIZE, "big", "src: option 'size' must be WIDTHxHEIGHT such as 3x2, not 'big'"),
    ],
)
def test_a_value_an_option_does_not_take_is_refused_saying_what_it_takes(
    option: Option, given: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        option.convert("src", given)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 200


def test_a_source_reads_only_its_own_options_and_leaves_empty_ones_to_its_default() -> None:
    picsum = registry.get("picsum")
    assert convert_options(picsum, {"width": "300", "set": "set4"}) == {"width": 300}
    assert convert_options(picsum, {"width": ""}) == {}
    assert convert_options(picsum, {"width": None}) == {}
    with pytest.raises(InvalidRequestError, match="picsum: option 'width'"):
        convert_options(picsum, {"width": "wide"})


# --- a job's options over its sources ----------------------------------------------------------


def test_check_options_keeps_each_value_as_the_sources_read_it() -> None:
    assert registry.check_options(["picsum", "robohash"], {"width": "300", "set": "SET4"}) == {
        "width": 300,
        "set": "set4",
    }
    # Both read `size=LARGE` as "large".
    assert registry.check_options(["pexels", "pixabay"], {"size": "LARGE"}) == {"size": "large"}
    # placeholder reads "png", youtube's format selector keeps its case: the value stays as given.
    assert registry.check_options(["placeholder", "youtube"], {"format": "PNG"}) == {
        "format": "PNG"
    }
    assert registry.check_options(["youtube"], {"quality": 720, "audio_only": "yes"}) == {
        "quality": "720",
        "audio_only": True,
    }
    assert registry.check_options(["picsum"], {"width": ""}) == {}


def test_an_option_no_picked_source_takes_is_refused_naming_what_they_take() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        registry.check_options(["picsum", "yandex_images"], {"colour": "red"})
    assert str(caught.value) == (
        "no picked source takes option 'colour'; picsum takes width; yandex_images takes no options"
    )
    with pytest.raises(InvalidRequestError, match=r"'colour' \(did you mean 'color'\?\)"):
        registry.check_options(["unsplash"], {"colour": "red"})
    # Taken by another source, but not by the ones picked; empty does not make it known.
    with pytest.raises(InvalidRequestError, match="no picked source takes option 'width'"):
        registry.check_options(["robohash"], {"width": ""})


def test_an_option_must_suit_every_picked_source_that_takes_it() -> None:
    assert registry.check_options(["unsplash", "picsum"], {"size": "raw"}) == {"size": "raw"}
    with pytest.raises(InvalidRequestError, match="pixabay: option 'size' must be one of large"):
        registry.check_options(["unsplash", "pixabay"], {"size": "raw"})


def test_check_options_refuses_an_unknown_source() -> None:
    with pytest.raises(InvalidRequestError, match="unknown source 'nope'"):
        registry.check_options(["nope"], {})


# --- sources read typed values -----------------------------------------------------------------


async def _first(name: str, options: dict[str, Any], tmp_path: Path) -> Found:
    cls = registry.get(name)
    ctx = SourceContext(
        http=_NoHttp(),
        base_url=cls.base_url,
        api_key=None,
        user_agent="test",
        scratch_dir=tmp_path,
        log=logging.getLogger("test"),
        cancelled=lambda: False,
        notice=lambda _: None,
    )
    items = cls().iterate(SourceQuery(text="cats", count=1, options=options), ctx)
    assert isinstance(items, AsyncGenerator)
    try:
        found: Found = await items.__anext__()
        return found
    finally:
        await items.aclose()


async def test_generators_honour_their_options_from_text_or_json(tmp_path: Path) -> None:
    for given in ("set4", "SET4"):
        found = await _first("robohash", {"set": given, "size": "64x32"}, tmp_path)
        assert found.url.endswith("?set=set4&size=64x32")
        assert (found.width, found.height) == (64, 32)
    found = await _first("placeholder", {"format": "WebP"}, tmp_path)
    assert "/webp?text=cats" in found.url
    found = await _first("dummyimage", {"format": ""}, tmp_path)
    assert ".png&text=cats" in found.url


# --- at submit: engine, HTTP API, command line -------------------------------------------------


async def test_the_engine_refuses_a_bad_option_before_creating_the_job(
    engine_factory: EngineFactory,
) -> None:
    engine = await engine_factory()
    spec = JobSpec(query="cats", sources=("picsum",), options={"width": "abc"})
    with pytest.raises(InvalidRequestError, match="picsum: option 'width'"):
        await engine.submit(spec)
    assert await engine.list_jobs(None) == []


@pytest.mark.usefixtures("responses_conform")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"width": "abc"},
            "picsum: option 'width' must be a whole number from 1 to 5000, not 'abc'",
        ),
        ({"width": 0}, "picsum: option 'width' must be a whole number from 1 to 5000, not 0"),
        ({"colour": "red"}, "no picked source takes option 'colour'; picsum takes width"),
    ],
)
async def test_the_api_answers_a_bad_option_with_a_400_naming_it(
    aiohttp_client: AiohttpClient,
    engine_factory: EngineFactory,
    replay: ReplayServer,
    options: dict[str, Any],
    message: str,
) -> None:
    engine = await engine_factory(base_urls={"picsum": replay.url()})
    client = await aiohttp_client(create_app(engine))
    body = json.dumps({"query": "cats", "sources": ["picsum"], "options": options})
    resp = await client.post("/api/jobs", data=body, headers=JSON_TYPE)
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert error == {"code": "invalid_request", "message": message}
    assert (await (await client.get("/api/jobs")).json())["jobs"] == []
    assert replay.requests == []


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("width=abc", "picsum: option 'width' must be a whole number from 1 to 5000, not 'abc'"),
        ("colour=red", "no picked source takes option 'colour'; picsum takes width"),
    ],
)
async def test_get_with_a_bad_option_exits_2_naming_it_before_any_request(
    replay: ReplayServer, tmp_path: Path, option: str, says: str
) -> None:
    _picsum(replay, 3)
    (tmp_path / "no.env").write_text("")
    env = {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-o", option)
    assert code == 2, err
    assert f"tuiapp: error: {says}" in err
    assert out == "" and "Traceback" not in err
    assert replay.requests == []


# --- README ------------------------------------------------------------------------------------


def test_the_readme_options_table_is_the_one_the_declarations_make() -> None:
    """When this fails, paste ``tuiapp.sources.options_markdown()`` between the markers."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- options:[^\n]*-->\n(.*?)<!-- /options -->", readme, re.S)
    assert found is not None
    assert found.group(1) == registry.options_markdown()
    for cls in registry.all_sources():
        assert f"`{cls.name}`" in found.group(1)
