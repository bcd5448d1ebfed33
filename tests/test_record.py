"""`make record`'s writing part, against the local replay server: what it saves is what was sent.

The script itself needs the internet; here each source's base URL points at 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from tests.record import Recorder, main, record
from tests.replay import Reply
from tests.sourcekit import fixture_text
from tests.test_fixtures import recorded_problems
from tuiapp.fetch import Fetcher
from tuiapp.sources.base import HttpResponse

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer

KEY = "1234567-0123456789abcdef0123456"


async def test_each_answer_is_saved_byte_for_byte_with_its_provenance(
    replay: ReplayServer, make_settings: MakeSettings, tmp_path: Path
) -> None:
    pixabay = fixture_text("from_docs", "pixabay", "search_docs_example_full_access.json")
    pixabay_body = pixabay.replace("https://pixabay.com", replay.url()).encode()
    # Odd spacing and key order on purpose: the bytes are kept, not the JSON re-written.
    picsum_body = b'[ {"width":10,"id":"3","height":10,"author":"A","url":"u"} ]\n'
    replay.add(
        "/api/", Reply(pixabay_body, 200, {"X-RateLimit-Remaining": "99"}, "application/json")
    )
    replay.add("/v2/list", Reply(picsum_body, 200, {"Set-Cookie": "sid=me"}, "application/json"))
    settings = make_settings(
        base_urls={"pixabay": replay.url(), "picsum": replay.url(), "pexels": replay.url()},
        api_keys={"PIXABAY_API_KEY": KEY},
    )
    out = tmp_path / "recorded"

    results = await record(settings, ["pixabay", "picsum", "pexels"], out)

    assert results == {
        "pixabay": "1 answers saved",
        "picsum": "1 answers saved",
        "pexels": "skipped: PEXELS_API_KEY is not set",
    }
    assert (out / "pixabay" / "01_api.json").read_bytes() == pixabay_body
    assert (out / "picsum" / "01_v2_list.json").read_bytes() == picsum_body
    assert not (out / "pexels").exists()
    provenance = (out / "pixabay" / "01_api.provenance.txt").read_text()
    assert KEY not in provenance
    assert (
        f"url: {replay.url('/api/')}?key=<KEY>&q=mountain+lake&per_page=20&page=1\n" in provenance
    )
    assert "status: 200\n" in provenance
    assert "  x-ratelimit-remaining: 99\n" in provenance
    assert (
        "\n  set-cookie: <not kept>\n" in (out / "picsum" / "01_v2_list.provenance.txt").read_text()
    )
    assert recorded_problems(out) == []
    assert [h.query.get("key") for h in replay.hits("/api/")] == [KEY], "the real key was sent"


async def test_a_new_recording_replaces_the_old_and_a_failed_one_keeps_it(
    replay: ReplayServer, make_settings: MakeSettings, tmp_path: Path
) -> None:
    out = tmp_path / "recorded"
    (out / "picsum").mkdir(parents=True)
    (out / "picsum" / "07_old.json").write_text("[]")
    settings = make_settings(base_urls={"picsum": replay.url()})
    replay.add("/v2/list", Reply(b"oops", 404, {}, "text/plain"))
    results = await record(settings, ["picsum"], out)
    assert results["picsum"].startswith("nothing saved (HTTPStatusError")
    assert [p.name for p in (out / "picsum").iterdir()] == ["07_old.json"]

    body = b'[{"id":"3","width":10,"height":10,"author":"A","url":"u"}]'
    replay.add("/v2/list", Reply(body, 200, {}, "application/json"))
    assert await record(settings, ["picsum"], out) == {"picsum": "1 answers saved"}
    assert sorted(p.name for p in (out / "picsum").iterdir()) == [
        "01_v2_list.json",
        "01_v2_list.provenance.txt",
    ]


async def test_an_answer_that_echoes_the_key_is_not_saved(
    replay: ReplayServer, make_settings: MakeSettings, tmp_path: Path
) -> None:
    replay.add("/echo", Reply(json.dumps({"you_sent": KEY}).encode(), 200, {}, "application/json"))
    fetcher = Fetcher(make_settings())
    await fetcher.start()
    try:
        when = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
        recorder = Recorder(fetcher, tmp_path / "x", secrets=[KEY], clock=lambda: when)
        with pytest.raises(ValueError, match="holds a key: not saved") as refused:
            await recorder.get(replay.url("/echo"), params={"key": KEY})
        assert KEY not in str(refused.value)
        replay.add("/ok", Reply(b"fine", 200, {}, "text/plain"))
        await recorder.get(replay.url("/ok"), params={"key": KEY})
    finally:
        await fetcher.close()
    assert not (tmp_path / "x" / "01_echo.json").exists()
    assert (tmp_path / "x" / "01_ok.txt").read_bytes() == b"fine"
    text = (tmp_path / "x" / "01_ok.provenance.txt").read_text()
    assert text.startswith(f"url: {replay.url('/ok')}?key=<KEY>\ndate: 2026-12-02T05:00:00Z\n")


def test_the_command_refuses_an_unknown_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bing_imagez"])
    assert exited.value.code == 2
    assert "unknown source(s): bing_imagez" in capsys.readouterr().err


def test_a_response_shape_is_what_the_recorder_writes(tmp_path: Path) -> None:
    """A recorder writes whatever HttpResponse it is handed, extension from its type."""
    recorder = Recorder(None, tmp_path)  # type: ignore[arg-type]  # write() needs no client
    resp = HttpResponse(200, "https://x.test/a/b.js?q=1", {"content-type": "text/javascript"}, b"x")
    path = recorder.write("https://x.test/a/b.js?q=1", resp)
    assert path.name == "01_a_b_js.js" and path.read_bytes() == b"x"
