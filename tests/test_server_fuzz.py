"""Schemathesis fuzzes the HTTP API from its own OpenAPI document: no request gets a 5xx.

Schemathesis' ASGI/WSGI helpers do not fit aiohttp, so the app is served on 127.0.0.1 in this
test's event loop and schemathesis (which is synchronous: requests + Hypothesis) runs in a worker
thread against it. The two event-stream endpoints are left out: a stream stays open as long as
the jobs it follows, and tests/test_server_events.py covers them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.replay import json_reply
from tests.serverkit import JSON_TYPE, photos, serve_picsum
from tuiapp import sources as registry
from tuiapp.jobs import JobSpec
from tuiapp.server import create_app, openapi_document

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_aiohttp import AiohttpServer

    from tests.conftest import EngineFactory
    from tests.replay import ReplayServer


EXAMPLES = 150
"""Generated requests per operation and mode (positive, negative): about 3,600 in all, ~30 s on
a quiet machine; 140 s was seen with the two cores shared by other work (hence the 240 s cap)."""
STREAMS = {"/api/events", "/api/jobs/{id}/events"}


pytestmark = pytest.mark.usefixtures("responses_conform")


def examples(
    strategy: Any, checks: list[Any], base_url: str, session: requests.Session
) -> Callable[[], None]:
    """A Hypothesis test sending ``strategy``'s cases to ``base_url`` and checking the answers."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case[Any]) -> None:
        # Every POST carries it, a body or not (the server answers 415 otherwise); schemathesis
        # sets it only where it sends a body.
        headers = JSON_TYPE if case.method.upper() == "POST" else None
        response = case.call(base_url=base_url, session=session, timeout=30, headers=headers)
        case.validate_response(response, checks=checks)

    return run


def fuzz(document: dict[str, Any], base_url: str) -> list[str]:
    """Run schemathesis over every operation; returns what failed (empty when all is well)."""
    schema = schemathesis.openapi.from_dict(document)
    checks: list[Any] = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                failures.append(f"the document has an invalid operation: {result.err()}")
                continue
            operation = result.ok()
            if operation.path in STREAMS:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                mode_checks = [*checks, negative_data_rejection] if mode.is_negative else checks
                strategy = operation.as_strategy(generation_mode=mode)
                try:
                    examples(strategy, mode_checks, base_url, session)()
                except Unsatisfiable:
                    # Nothing to send wrong: the operation takes no parameters and no body.
                    assert mode.is_negative, operation.label
                except (Exception, BaseExceptionGroup) as exc:
                    # BaseExceptionGroup: schemathesis reports several failures as one group.
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


async def test_no_generated_request_gets_a_server_error_or_breaks_the_document(
    engine_factory: EngineFactory,
    replay: ReplayServer,
    aiohttp_server: AiohttpServer,
) -> None:
    # One source at a time and no retries: the jobs fuzzing starts fail fast against the replay
    # server (which knows only the catalogue below) and never reach the internet.
    engine = await engine_factory(
        base_urls={name: replay.url() for name in registry.names()},
        max_concurrent_sources=1,
        retries=0,
    )
    serve_picsum(replay, photos(2))
    app = create_app(engine)
    server = await aiohttp_server(app, host="127.0.0.1")
    # Something to find: job 1 with two files (assets 1 and 2).
    job = await engine.submit(JobSpec(query="x", sources=("picsum",), count=2))
    assert (await engine.wait(job.id, None)).stored == 2

    # From here on the catalogue is empty: picsum jobs started by the fuzzer end at once.
    replay.add("/v2/list", json_reply([]))
    # dummyimage and placeholder are left out of the fuzzed document: a job asking either for
    # more files than it has distinct URLs (about 90) spins the engine's loop forever without
    # yielding, which freezes the whole process (an engine bug, reported; not the server's).
    document = openapi_document(["picsum", "robohash"])
    base_url = str(server.make_url("")).rstrip("/")
    failures = await asyncio.wait_for(asyncio.to_thread(fuzz, document, base_url), 240)
    assert failures == [], "\n\n".join(failures)
