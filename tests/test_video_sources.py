"""The five video sources: URL routing, options, error mapping, Dailymotion search, the hook.

End-to-end downloads through yt-dlp are in ``test_ytdlp.py``; live tests (``-m live``) at the end.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from typing import TYPE_CHECKING, Any

import pytest
from yt_dlp.utils import DownloadError, GeoRestrictedError, UnsupportedError

from tests.replay import Reply, json_reply
from tests.videos import Served, mp4_bytes, mp4_stream
from tuiapp import sources as registry
from tuiapp.errors import (
    BlockedError,
    GeoBlockedError,
    LoginRequiredError,
    PrivateMediaError,
    RateLimitedError,
    SourceError,
    TooLargeError,
    UnreachableError,
    UnsupportedURLError,
    error_label,
)
from tuiapp.events import AssetStored, JobFinished
from tuiapp.jobs import JobSpec, JobState
from tuiapp.sources import ytdlp
from tuiapp.sources.base import SourceContext, SourceQuery, TransferContext
from tuiapp.sources.dailymotion import DailymotionSource
from tuiapp.sources.twitch import TwitchSource
from tuiapp.sources.youtube import YoutubeSource
from tuiapp.sources.ytdlp import VideoOptions, clean_message, error_for, needs_merge, tools
from tuiapp.sources.ytdlp.download import Progress
from tuiapp.sources.ytdlp.ydl import Abort

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tests.replay import ReplayServer
    from tuiapp.engine import Engine
    from tuiapp.events import Event

    EngineFactory = Callable[..., Awaitable[Engine]]

VIDEO_SOURCES = ("youtube", "dailymotion", "vimeo", "tiktok", "twitch")


# --- routing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://www.youtube.com/watch?v=BaW_jenozKc", "youtube"),
        ("https://youtu.be/BaW_jenozKc", "youtube"),
        ("https://m.youtube.com/shorts/abc123", "youtube"),
        ("https://music.youtube.com/playlist?list=PL59FEE129ADFF2B12", "youtube"),
        ("https://www.youtube.com/@SomeChannel/videos", "youtube"),
        ("https://www.youtube-nocookie.com/embed/BaW_jenozKc", "youtube"),
        ("http://youtube.com/watch?v=BaW_jenozKc", "youtube"),
        ("https://www.dailymotion.com/video/x5kesuj", "dailymotion"),
        ("https://dai.ly/x5kesuj", "dailymotion"),
        ("https://www.dailymotion.com/playlist/x6hynp", "dailymotion"),
        ("https://vimeo.com/76979871", "vimeo"),
        ("https://player.vimeo.com/video/76979871", "vimeo"),
        ("https://www.tiktok.com/@scout2015/video/6718335390845095173", "tiktok"),
        ("https://vm.tiktok.com/ZMabcdef/", "tiktok"),
        ("https://www.twitch.tv/videos/6528877", "twitch"),
        ("https://clips.twitch.tv/FaintLightGullWholeWheat", "twitch"),
        ("https://www.twitch.tv/somebody/clip/FaintLightGullWholeWheat", "twitch"),
        ("https://www.twitch.tv/somebody", "twitch"),
    ],
)
def test_a_video_url_goes_to_its_site(url: str, source: str) -> None:
    found = registry.find(url)
    assert found is not None
    assert found.name == source


@pytest.mark.parametrize(
    "url",
    [
        "https://notyoutube.com/watch?v=BaW_jenozKc",
        "https://www.youtube.com.example.org/watch?v=BaW_jenozKc",
        "https://example.com/video.mp4",
        "https://vimeo.example.com/76979871",
        "ftp://www.youtube.com/watch?v=BaW_jenozKc",
    ],
)
def test_a_url_of_no_video_site_goes_to_none_of_them(url: str) -> None:
    found = registry.find(url)
    assert found is None or found.name not in VIDEO_SOURCES


def test_only_youtube_and_dailymotion_take_search_words() -> None:
    takes = {name: registry.get(name).takes_query for name in VIDEO_SOURCES}
    assert takes == {
        "youtube": True,
        "dailymotion": True,
        "vimeo": False,
        "tiktok": False,
        "twitch": False,
    }
    assert all(registry.get(name).kind == "video" for name in VIDEO_SOURCES)


def test_the_ytdlp_base_is_not_a_registered_source() -> None:
    assert "ytdlp" not in registry.names()
    assert ytdlp.YtDlpSource not in registry.all_sources()


@pytest.mark.parametrize(
    ("url", "listed"),
    [
        ("https://www.twitch.tv/somebody", "https://www.twitch.tv/somebody/videos"),
        ("https://m.twitch.tv/somebody/", "https://www.twitch.tv/somebody/videos"),
        ("https://www.twitch.tv/videos/6528877", "https://www.twitch.tv/videos/6528877"),
        ("https://www.twitch.tv/directory", "https://www.twitch.tv/directory"),
        ("https://clips.twitch.tv/FaintLight", "https://clips.twitch.tv/FaintLight"),
    ],
)
def test_a_twitch_channel_lists_its_past_broadcasts(url: str, listed: str) -> None:
    assert TwitchSource().listing_url(url) == listed


# --- options --------------------------------------------------------------------------------


@pytest.fixture
def no_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(tools, "bundled_ffmpeg", lambda: None)


@pytest.fixture
def with_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")


def read(options: dict[str, Any] | None = None, **settings: Any) -> VideoOptions:
    return VideoOptions.read("vimeo", options or {}, settings)


@pytest.mark.usefixtures("no_ffmpeg")
def test_without_ffmpeg_the_default_format_is_a_single_file() -> None:
    assert read().format == "b"
    assert read({"quality": "720p"}).format == "b[height<=720]/w"
    assert read().ffmpeg is None


@pytest.mark.usefixtures("with_ffmpeg")
def test_with_ffmpeg_the_default_joins_the_best_video_and_audio() -> None:
    assert read().format == "bv*+ba/b"
    assert read({"quality": 480}).format == "bv*[height<=480]+ba/b[height<=480]/w"


@pytest.mark.usefixtures("no_ffmpeg")
def test_a_format_that_needs_ffmpeg_is_refused_clearly_when_it_is_missing() -> None:
    with pytest.raises(SourceError, match=r"'bv\*\+ba' joins .* needs ffmpeg"):
        read({"format": "bv*+ba"})
    assert read({"format": "b[height<=360]"}).format == "b[height<=360]"


@pytest.mark.usefixtures("with_ffmpeg")
def test_a_format_that_needs_ffmpeg_is_kept_when_it_is_there() -> None:
    assert read({"format": "bv*+ba"}).format == "bv*+ba"


@pytest.mark.usefixtures("no_ffmpeg")
def test_audio_only_and_job_options_over_settings() -> None:
    assert read({"audio_only": True}).format == "ba/b"
    assert read(audio_only="true").format == "ba/b"
    assert read({"format": "w"}, format="b").format == "w"
    assert read({"format": ""}, format="worst").format == "worst"


@pytest.mark.usefixtures("no_ffmpeg")
def test_bad_option_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="quality must be a number"):
        read({"quality": "hd"})
    with pytest.raises(SourceError, match="max_size must be above 0"):
        read({"max_size": -5})
    with pytest.raises(SourceError, match="TUIAPP_SOURCE_VIMEO__COOKIES"):
        read(cookies=str(tmp_path / "missing.txt"))
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    assert read(cookies=str(cookies)).cookies == cookies


@pytest.mark.parametrize(
    ("fmt", "merge"),
    [
        ("bv*+ba/b", True),
        ("137+140", True),
        ("b", False),
        ("b[height<=720]/w", False),
        ("b[format_note*=a+b]", False),
        ("bv[ext=mp4]+ba[ext=m4a]", True),
    ],
)
def test_needs_merge(fmt: str, merge: bool) -> None:
    assert needs_merge(fmt) is merge


# --- errors ---------------------------------------------------------------------------------

COOKIE_ADVICE = (
    " Use --cookies-from-browser or --cookies for the authentication. See "
    " https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to"
    " manually pass cookies"
)
REPORT = (
    "; please report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out"
    " the appropriate issue template. Confirm you are on the latest version using  yt-dlp -U"
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "\x1b[0;31mERROR:\x1b[0m [youtube] abc: Private video. Sign in if you've been"
            " granted access to this video." + COOKIE_ADVICE,
            PrivateMediaError,
        ),
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed", PrivateMediaError),
        ("ERROR: [generic] clip: HTTP Error 404: Not Found", PrivateMediaError),
        (
            "ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate"
            " for some users." + COOKIE_ADVICE,
            LoginRequiredError,
        ),
        (
            "ERROR: [vimeo] 76979871: Failed to fetch android OAuth token: HTTP Error 401:"
            " Unauthorized",
            LoginRequiredError,
        ),
        (
            "ERROR: [youtube] abc: Sign in to confirm you\u2019re not a bot." + COOKIE_ADVICE,
            BlockedError,
        ),
        (
            "ERROR: [youtube] abc: The uploader has not made this video available in your country",
            GeoBlockedError,
        ),
        ("ERROR: Unsupported URL: https://example.com/page", UnsupportedURLError),
        ("ERROR: [dailymotion] x1: HTTP Error 429: Too Many Requests", RateLimitedError),
        (
            "ERROR: [TikTok] 123: Unable to extract universal data for rehydration" + REPORT,
            SourceError,
        ),
        ("ERROR: [TikTok] 1: Your IP address is blocked from accessing this post", BlockedError),
        (
            "ERROR: [TikTok] 1: This post may not be comfortable for some audiences. Log in for"
            " access" + COOKIE_ADVICE,
            LoginRequiredError,
        ),
        (
            "ERROR: [twitch:vod] 1: You must be logged into an account that has access to this"
            " subscriber-only content",
            LoginRequiredError,
        ),
        ("ERROR: [TikTok] 1: Unable to solve JS challenge", SourceError),
    ],
)
def test_ytdlp_errors_become_clear_source_errors(message: str, expected: type[SourceError]) -> None:
    err = error_for(DownloadError(message), "youtube")
    assert type(err) is expected
    assert "\x1b" not in err.message
    assert not err.message.startswith("ERROR")
    assert "please report" not in err.message
    assert "--cookies" not in err.message


def test_a_login_error_names_the_cookies_setting_of_its_source() -> None:
    err = error_for(DownloadError("ERROR: [vimeo] 1: This video requires login"), "vimeo")
    assert isinstance(err, LoginRequiredError)
    assert "TUIAPP_SOURCE_VIMEO__COOKIES" in err.message
    assert err.message.startswith("[vimeo] 1: This video requires login")


def test_the_original_extractor_error_decides_first() -> None:
    geo = GeoRestrictedError("This video is not available", countries=["DE"])
    err = error_for(DownloadError("ERROR: [twitch] 1: nope", (type(geo), geo, None)), "twitch")
    assert isinstance(err, GeoBlockedError)
    unsupported = UnsupportedError("https://example.com/x")
    assert isinstance(error_for(unsupported, "twitch"), UnsupportedURLError)


def test_ffmpeg_and_format_errors_say_what_to_do() -> None:
    err = error_for(
        DownloadError(
            "ERROR: You have requested merging of multiple formats but ffmpeg is not installed."
        ),
        "youtube",
    )
    assert type(err) is SourceError
    assert "install ffmpeg" in err.message
    err = error_for(
        DownloadError("ERROR: [youtube] a: Requested format is not available"), "youtube"
    )
    assert "choose another format" in err.message


def test_clean_message_keeps_the_words() -> None:
    assert clean_message("\x1b[1;31mERROR:\x1b[0m  [x]   a\n b" + REPORT) == "[x] a b"


# --- the progress hook ----------------------------------------------------------------------


def test_the_hook_ignores_unknown_states_and_survives_missing_totals(tmp_path: Path) -> None:
    reports: list[dict[str, Any]] = []
    tctx = TransferContext(
        scratch_dir=tmp_path,
        max_size=1000,
        stall_timeout=5,
        report=lambda **values: reports.append(values),
        cancelled=lambda: False,
    )
    hook = Progress(tctx, 1000)
    hook({"status": "postprocessing"})
    hook({"status": "error", "downloaded_bytes": None})
    hook.flush()
    assert reports == []
    hook({"status": "downloading", "downloaded_bytes": 100, "total_bytes": None, "speed": None})
    hook.flush()
    assert reports == [
        {
            "downloaded": 100,
            "total": None,
            "speed": None,
            "eta": None,
            "fragment_index": None,
            "fragment_count": None,
        }
    ]
    hook.flush(force=True)
    assert len(reports) == 1, "unchanged numbers are not reported again"
    hook({"status": "downloading", "downloaded_bytes": 300, "total_bytes_estimate": 900})
    hook({"status": "finished", "downloaded_bytes": 400, "filename": "v.mp4"})
    hook({"status": "downloading", "downloaded_bytes": 50, "total_bytes": 500, "filename": "a"})
    hook.flush(force=True)
    assert reports[-1]["downloaded"] == 450, "bytes of finished parts count"
    assert reports[-1]["total"] == 900
    with pytest.raises(Abort, match="more than the limit 1,000") as info:
        hook({"status": "downloading", "downloaded_bytes": 700, "filename": "a"})
    assert isinstance(info.value.error, TooLargeError)


# --- the download callable on its own -------------------------------------------------------


class _Direct:
    """yt-dlp sources listing a URL use no HTTP client but to ask which proxy to take."""

    def proxy_for(self, url: str) -> str | None:
        return None


def _context(tmp_path: Path) -> SourceContext:
    return SourceContext(
        http=_Direct(),  # type: ignore[arg-type]
        base_url="",
        api_key=None,
        user_agent="tests",
        scratch_dir=tmp_path / "listing",
        log=logging.getLogger("tests.video"),
        cancelled=lambda: False,
        notice=lambda text: None,
    )


class _Reports:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **values: Any) -> None:
        self.calls.append(values)


async def test_a_download_leaves_only_its_file_and_a_failed_one_leaves_nothing(
    replay: ReplayServer, tmp_path: Path
) -> None:
    body = mp4_bytes(300_000)
    replay.add("/ok.mp4", Reply(body, content_type="video/mp4"))
    replay.add("/big.mp4", mp4_stream(900_000, chunk=50_000, content_length=False))
    source = YoutubeSource()  # any yt-dlp source downloads any URL its Found points at
    ctx = _context(tmp_path)
    [ok] = [f async for f in source.list_url(replay.url("/ok.mp4"), 1, read(), ctx)]
    [big] = [f async for f in source.list_url(replay.url("/big.mp4"), 1, read(), ctx)]
    assert ok.download is not None
    assert big.download is not None
    scratch = tmp_path / "scratch"

    def tctx(reports: _Reports) -> TransferContext:
        return TransferContext(
            scratch_dir=scratch,
            max_size=500_000,
            stall_timeout=5,
            report=reports,
            cancelled=lambda: False,
        )

    reports = _Reports()
    result = await ok.download(tctx(reports))
    assert result.path.read_bytes() == body
    assert [p for p in scratch.rglob("*") if p.is_file()] == [result.path]
    assert result.mime == "video/mp4"
    assert result.metadata["extractor"] == "generic"
    assert reports.calls[-1]["downloaded"] == len(body)
    result.path.unlink()

    with pytest.raises(TooLargeError, match="more than the limit 500,000"):
        await big.download(tctx(_Reports()))
    assert [p for p in scratch.rglob("*") if p.is_file()] == []
    assert not (tmp_path / "listing").exists() or not any((tmp_path / "listing").iterdir())


async def test_a_cancelled_flag_stops_a_download_at_once(
    replay: ReplayServer, tmp_path: Path
) -> None:
    served = Served()
    replay.add("/slow.mp4", mp4_stream(20_000_000, chunk=20_000, delay=0.05, served=served))
    source = YoutubeSource()
    [item] = [
        f async for f in source.list_url(replay.url("/slow.mp4"), 1, read(), _context(tmp_path))
    ]
    assert item.download is not None
    stop = False
    moving = asyncio.Event()
    reports = _Reports()

    def report(**values: Any) -> None:
        reports(**values)
        moving.set()

    def cancelled() -> bool:
        return stop

    task = asyncio.ensure_future(
        item.download(
            TransferContext(
                scratch_dir=tmp_path / "scratch",
                max_size=10**9,
                stall_timeout=5,
                report=report,
                cancelled=cancelled,
            )
        )
    )
    await asyncio.wait_for(moving.wait(), timeout=5)
    stop = True
    with pytest.raises(SourceError, match="stopped"):
        await asyncio.wait_for(task, timeout=1)
    await asyncio.wait_for(served.ended.wait(), timeout=3)
    assert served.sent < 2_000_000


# --- dailymotion search ---------------------------------------------------------------------


async def _events_until_done(engine: Engine, spec: JobSpec) -> tuple[int, list[Event]]:
    events: list[Event] = []
    with engine.subscribe() as sub:
        info = await engine.submit(spec)
        while (event := await sub.get()) is not None:
            events.append(event)
            if isinstance(event, JobFinished) and event.job_id == info.id:
                break
    return info.id, events


async def test_dailymotion_searches_its_api_and_downloads_the_hits(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    hits = [
        {
            "id": f"x{n}",
            "title": f"Sunset {n}",
            "url": replay.url(f"/video/x{n}.mp4"),
            "duration": 12 + n,
            "thumbnail_360_url": replay.url(f"/thumb/x{n}.jpg"),
            "owner.screenname": "skywatcher",
        }
        for n in range(1, 4)
    ]
    replay.add("/videos", json_reply({"page": 1, "limit": 4, "has_more": False, "list": hits}))
    for n in range(1, 4):
        replay.add(f"/video/x{n}.mp4", Reply(mp4_bytes(40_000 + n), content_type="video/mp4"))
    engine = await engine_factory(base_urls={"dailymotion": replay.url()})

    job_id, events = await _events_until_done(
        engine, JobSpec(query="sunset timelapse", sources=("dailymotion",), count=2)
    )

    job = await engine.get_job(job_id, None)
    assert job.state is JobState.DONE, job
    (search,) = replay.hits("/videos")
    assert search.query["search"] == "sunset timelapse"
    assert search.query["limit"] == "4"
    assert search.query["family_filter"] == "true"
    assert "url" in search.query["fields"].split(",")
    stored = [e for e in events if isinstance(e, AssetStored)]
    assert len(stored) == 2
    assets = await engine.list_assets(None, job_id=job_id)
    titles = {a.title for a in assets}
    assert titles <= {"Sunset 1", "Sunset 2", "Sunset 3"}
    assert {a.author for a in assets} == {"skywatcher"}
    assert all(a.thumbnail_url and a.thumbnail_url.endswith(".jpg") for a in assets)
    assert all(a.metadata["extractor"] == "generic" for a in assets)


async def test_a_dailymotion_api_error_fails_the_source_with_its_message(
    engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    replay.add(
        "/videos",
        json_reply({"error": {"code": 400, "message": "Invalid value for `limit`"}}, status=400),
    )
    engine = await engine_factory(base_urls={"dailymotion": replay.url()})

    job_id, _ = await _events_until_done(
        engine, JobSpec(query="sunset", sources=("dailymotion",), count=1)
    )

    (source,) = (await engine.get_job(job_id, None)).sources
    assert source.error_code == "source_error"
    assert "Invalid value for `limit`" in (source.error or "")


async def test_youtube_search_words_become_a_ytsearch_listing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    listed: list[tuple[str, int]] = []

    def fake_list(
        self: YoutubeSource, target: str, limit: int, opts: VideoOptions, ctx: SourceContext
    ) -> dict[str, Any]:
        listed.append((target, limit))
        return {
            "_type": "playlist",
            "entries": [
                {"_type": "url", "url": "https://www.youtube.com/watch?v=a1", "title": "A"},
                {
                    "_type": "url",
                    "url": "https://www.youtube.com/watch?v=a2",
                    "live_status": "is_live",
                },
                {"_type": "url", "url": "https://www.youtube.com/watch?v=a3", "title": "C"},
            ],
        }

    monkeypatch.setattr(YoutubeSource, "_list_blocking", fake_list)
    query = SourceQuery(text="lofi beats", count=3)
    found = [f async for f in YoutubeSource().iterate(query, _context(tmp_path))]
    assert listed == [("ytsearch6:lofi beats", 6)]
    assert [f.url for f in found] == [
        "https://www.youtube.com/watch?v=a1",
        "https://www.youtube.com/watch?v=a3",
    ], "live streams are skipped"
    assert all(f.expect == "video" and f.download is not None for f in found)


def test_dailymotion_takes_its_api_as_base_url() -> None:
    assert DailymotionSource.base_url == "https://api.dailymotion.com"


# --- live (real sites; `pytest -m live`) ----------------------------------------------------


@pytest.mark.live
async def test_live_youtube_search_lists_videos(tmp_path: Path) -> None:
    query = SourceQuery(text="creative commons nature", count=3)
    found = [f async for f in YoutubeSource().iterate(query, _context(tmp_path))]
    assert 1 <= len(found) <= 6
    assert all(registry.find(f.url) is YoutubeSource for f in found)


@pytest.mark.live
async def test_live_youtube_download_of_a_short_video(
    engine_factory: EngineFactory,
) -> None:
    engine = await engine_factory(global_job_timeout=240.0, request_timeout=30.0)
    job_id, _ = await _events_until_done(
        engine,
        JobSpec(query="https://www.youtube.com/watch?v=BaW_jenozKc", sources=("youtube",), count=1),
    )
    job = await engine.get_job(job_id, None)
    assert job.state is JobState.DONE, job
    (asset,) = await engine.list_assets(None, job_id=job_id)
    assert asset.kind == "video"
    assert asset.metadata["extractor"] == "youtube"


@pytest.mark.live
async def test_live_dailymotion_search(engine_factory: EngineFactory) -> None:
    engine = await engine_factory(global_job_timeout=240.0, request_timeout=30.0)
    job_id, _ = await _events_until_done(
        engine, JobSpec(query="timelapse", sources=("dailymotion",), count=1)
    )
    job = await engine.get_job(job_id, None)
    assert job.sources[0].found >= 1


# Shaped after what yt-dlp 2026.10 raises when the machine is offline: its requests handler's
# TransportError (urllib3's words), wrapped by the extractor's "Unable to download" message.
OFFLINE_MESSAGE = (
    "ERROR: [youtube:search] cats: Unable to download API page:"
    " HTTPSConnectionPool(host='www.youtube.com', port=443): Max retries exceeded with url:"
    ' /youtubei/v1/search?prettyPrint=false (Caused by NameResolutionError("<urllib3.connection.'
    "HTTPSConnection object at 0x7f3a>: Failed to resolve 'www.youtube.com' ([Errno -3] Temporary"
    ' failure in name resolution)")) (caused by TransportError("HTTPSConnectionPool(...)"))'
)


def test_a_network_failure_is_offline_with_the_host_like_the_image_sources() -> None:
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    cause = TransportError("HTTPSConnectionPool(host='www.youtube.com', port=443)")
    err = error_for(DownloadError(OFFLINE_MESSAGE, (type(cause), cause, None)), "youtube")
    assert isinstance(err, UnreachableError) and err.code == "offline"
    assert str(err) == "cannot reach www.youtube.com (name not resolved)"
    assert error_label(err.code, "failed") == "offline"
    refused = TransportError("[Errno 111] Connection refused")
    err = error_for(
        DownloadError(
            "ERROR: [dailymotion] x1: Unable to download JSON metadata: [Errno 111] Connection"
            " refused (caused by TransportError('https://www.dailymotion.com/player/metadata'))",
            (type(refused), refused, None),
        ),
        "dailymotion",
    )
    assert str(err) == "cannot reach www.dailymotion.com (connection refused)"
    # An HTTP error answer is not being offline: the site was reached.
    answer = HTTPError.__new__(HTTPError)
    err = error_for(
        DownloadError("ERROR: [youtube] 1: Unable to download webpage: HTTP Error 404: Not Found",
                      (HTTPError, answer, None)),
        "youtube",
    )  # fmt: skip
    assert not isinstance(err, UnreachableError)
