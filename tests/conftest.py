"""Shared fixtures: settings in a temporary data dir, a running engine, the replay server."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.replay import ReplayServer
from tuiapp.config import Settings, sqlite_url
from tuiapp.engine import Engine
from tuiapp.fetch import allowing
from tuiapp.sources._common import QUOTAS

if TYPE_CHECKING:
    from pathlib import Path

    from aiohttp.test_utils import TestServer

MakeSettings = Callable[..., Settings]
EngineFactory = Callable[..., Awaitable[Engine]]

pytest_plugins = ["tests.fake_sources", "tests.postgres", "tests.serverkit"]

# Tests reach loopback only: a proxy of the machine's (HTTPS_PROXY...) would carry the tuiapp
# processes they start, as it carries the user's. Tests that test proxies name their own; live
# tests behind a proxy take TUIAPP_PROXY.
for _name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_name, None)

# Caches (yt-dlp's impersonation targets) go to a folder of the test run, never the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tuiapp-test-cache-")


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": sqlite_url(tmp_path / "data" / "tuiapp.db"),
            "request_timeout": 5.0,
            "source_timeout": 10.0,
            "global_job_timeout": 30.0,
            "retry_base_delay": 0.01,
            "retry_max_wait": 2.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def replay(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> AsyncIterator[ReplayServer]:
    """A replay server on 127.0.0.1 whose origin the test names, as a user names a mirror.

    The fetcher refuses loopback addresses; this origin (this port only) is allowed for the
    test and the tasks it starts (``tuiapp.fetch.allowing``: pytest-asyncio carries context
    variables set in async fixtures into the test).
    """
    server = ReplayServer()
    test_server = await aiohttp_server(server.app, host="127.0.0.1")
    server.base = str(test_server.make_url("")).rstrip("/")
    with allowing([server.base]):
        yield server


@pytest.fixture
async def engine_factory(make_settings: MakeSettings) -> AsyncIterator[EngineFactory]:
    engines: list[Engine] = []

    async def make(**overrides: Any) -> Engine:
        engine = Engine(make_settings(**overrides))
        await engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.close()


@pytest.fixture
def fresh_quotas() -> Iterator[None]:
    """Quotas are remembered for the whole process: the test starts and ends without any.

    The keyed sources' test modules use it for every test (``pytest.mark.usefixtures``).
    """
    QUOTAS.clear()
    yield
    QUOTAS.clear()
    QUOTAS.clock = time.time


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """After a live run (``pytest -m live``), a table of each source and what it gave."""
    from tests.live_summary import live_results, table

    reports = [
        r
        for kind in ("passed", "failed", "skipped", "error")
        for r in terminalreporter.stats.get(kind, [])
    ]
    results = live_results(r for r in reports if hasattr(r, "nodeid") and hasattr(r, "when"))
    if not results:
        return  # no live test ran
    terminalreporter.section("live sources")
    for line in table(results):
        terminalreporter.write_line(line)
