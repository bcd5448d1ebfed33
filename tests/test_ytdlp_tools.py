"""What video sites need installed reaches yt-dlp: ffmpeg, deno, impersonation, and their errors.

The programs come from the wheels the project depends on (imageio-ffmpeg, deno, curl_cffi); a
user's own ffmpeg or deno on PATH wins. The options yt-dlp gets are read off the ``YoutubeDL``
each listing and download builds, against videos a local server serves.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import TYPE_CHECKING, Any

import pytest
from yt_dlp import YoutubeDL
from yt_dlp.networking.impersonate import ImpersonateTarget
from yt_dlp.utils import DownloadError

from tests.replay import Reply
from tests.videos import mp4_bytes
from tuiapp.errors import BlockedError, LoginRequiredError, RateLimitedError, SourceError
from tuiapp.sources.base import SourceContext, TransferContext
from tuiapp.sources.youtube import YoutubeSource
from tuiapp.sources.ytdlp import VideoOptions, _ydl_class, error_for, tools

if TYPE_CHECKING:
    from pathlib import Path

    from tests.replay import ReplayServer


def read(options: dict[str, Any] | None = None, **settings: Any) -> VideoOptions:
    return VideoOptions.read("youtube", options or {}, settings)


def program(folder: Path, name: str) -> Path:
    """An executable file named ``name`` in ``folder`` (found by PATH lookups, never run)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PATH is one empty folder: no ffmpeg or deno of the user's."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


# --- where the programs come from -----------------------------------------------------------


def test_the_installation_bundles_ffmpeg_deno_and_an_impersonation_target() -> None:
    ffmpeg, deno = tools.bundled_ffmpeg(), tools.bundled_deno()
    assert ffmpeg is not None and os.access(ffmpeg, os.X_OK), "imageio-ffmpeg ships ffmpeg"
    assert deno is not None and os.access(deno, os.X_OK), "the deno package ships deno"
    assert tools.impersonate_target() is not None, "curl_cffi gives yt-dlp a browser to impersonate"


def test_without_a_program_on_path_the_bundled_ones_are_used(empty_path: Path) -> None:
    opts = read()
    assert opts.ffmpeg == tools.bundled_ffmpeg()
    assert opts.deno == tools.bundled_deno()
    assert opts.format == "bv*+ba/b", "ffmpeg is there, so separate streams are merged"


def test_a_users_own_ffmpeg_and_deno_on_path_win(empty_path: Path) -> None:
    ffmpeg, deno = program(empty_path, "ffmpeg"), program(empty_path, "deno")
    opts = read()
    assert opts.ffmpeg == str(ffmpeg)
    assert opts.deno == str(deno)


def test_a_setting_names_the_program_and_a_missing_one_is_refused(
    empty_path: Path, tmp_path: Path
) -> None:
    program(empty_path, "ffmpeg")
    own = program(tmp_path / "opt", "ffmpeg7")
    assert read(ffmpeg=str(own)).ffmpeg == str(own), "the setting beats PATH"
    assert read({"deno": str(own)}).deno == str(own)
    with pytest.raises(SourceError, match="ffmpeg option '/nowhere/ffmpeg': no such program"):
        read(ffmpeg="/nowhere/ffmpeg")
    with pytest.raises(SourceError, match="deno option 'nodeno': no such program"):
        read(deno="nodeno")


# --- what yt-dlp is given -------------------------------------------------------------------


@pytest.fixture
def ydl_params(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The options of every YoutubeDL the sources build, in order."""
    cls = _ydl_class()
    real_init = cls.__init__
    seen: list[dict[str, Any]] = []

    def init(self: Any, params: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> None:
        seen.append(dict(params or {}))
        real_init(self, params, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", init)
    return seen


async def test_listing_and_download_hand_yt_dlp_the_ffmpeg_and_deno_paths(
    replay: ReplayServer, tmp_path: Path, ydl_params: list[dict[str, Any]], empty_path: Path
) -> None:
    body = mp4_bytes(100_000)
    replay.add("/clip.mp4", Reply(body, content_type="video/mp4"))
    source = YoutubeSource()  # any yt-dlp source takes any URL its listing is given
    opts = read()
    ctx = SourceContext(
        http=None,  # type: ignore[arg-type]  # listing a URL uses no HTTP client
        base_url="",
        api_key=None,
        user_agent="tests",
        scratch_dir=tmp_path / "listing",
        log=logging.getLogger("tests.video"),
        cancelled=lambda: False,
        notice=lambda text: None,
    )
    [item] = [f async for f in source.list_url(replay.url("/clip.mp4"), 1, opts, ctx)]
    assert item.download is not None
    result = await item.download(
        TransferContext(
            scratch_dir=tmp_path / "scratch",
            max_size=10**6,
            stall_timeout=5,
            report=lambda **values: None,
            cancelled=lambda: False,
        )
    )

    assert result.path.read_bytes() == body
    listing, download = ydl_params
    for params in (listing, download):
        assert params["ffmpeg_location"] == tools.bundled_ffmpeg()
        assert params["js_runtimes"] == {"deno": {"path": tools.bundled_deno()}}
    assert download["format"] == "bv*+ba/b"


def test_yt_dlp_finds_a_working_ffmpeg_deno_and_impersonation_in_those_options(
    tmp_path: Path, empty_path: Path
) -> None:
    """Not only handed over: yt-dlp runs both programs and accepts their versions."""
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    from tuiapp.sources.ytdlp.ydl import YtDlpLog, params

    options = params(read(), YtDlpLog(logging.getLogger("tests.video")), tmp_path)
    with YoutubeDL(options) as ydl:
        ffmpeg = FFmpegPostProcessor(ydl)
        assert ffmpeg.available and ffmpeg.basename == "ffmpeg"
        deno = ydl._js_runtimes["deno"].info
        assert deno is not None and deno.supported and deno.path == tools.bundled_deno()
        target, _ = ydl._parse_impersonate_targets(True)
        assert isinstance(target, ImpersonateTarget)


def test_a_user_ffmpeg_on_path_is_the_one_yt_dlp_gets(
    empty_path: Path, tmp_path: Path, ydl_params: list[dict[str, Any]]
) -> None:
    own = program(empty_path, "ffmpeg")
    from tuiapp.sources.ytdlp.ydl import YtDlpLog, params

    options = params(read(), YtDlpLog(logging.getLogger("tests.video")), tmp_path)
    assert options["ffmpeg_location"] == str(own)
    assert options["js_runtimes"] == {"deno": {"path": tools.bundled_deno()}}


async def test_the_sites_that_need_impersonation_hand_yt_dlp_an_available_target(
    replay: ReplayServer, tmp_path: Path, ydl_params: list[dict[str, Any]]
) -> None:
    """TikTok's listing and download impersonate a browser yt-dlp has; YouTube's do not."""
    from tuiapp.sources.tiktok import TiktokSource

    body = mp4_bytes(50_000)
    replay.add("/clip.mp4", Reply(body, content_type="video/mp4"))
    opts = VideoOptions.read("tiktok", {}, {})
    assert opts.impersonate is not None and opts.impersonate == tools.impersonate_target()
    assert read().impersonate is None, "youtube needs no impersonation"
    ctx = SourceContext(
        http=None,  # type: ignore[arg-type]  # listing a URL uses no HTTP client
        base_url="",
        api_key=None,
        user_agent="tests",
        scratch_dir=tmp_path / "listing",
        log=logging.getLogger("tests.video"),
        cancelled=lambda: False,
        notice=lambda text: None,
    )
    source = TiktokSource()
    [item] = [f async for f in source.list_url(replay.url("/clip.mp4"), 1, opts, ctx)]
    assert item.download is not None
    tctx = TransferContext(
        scratch_dir=tmp_path / "scratch",
        max_size=10**6,
        stall_timeout=5,
        report=lambda **values: None,
        cancelled=lambda: False,
    )
    assert (await item.download(tctx)).path.read_bytes() == body
    with YoutubeDL({"quiet": True}) as ydl:
        available = [target for target, _ in ydl._get_available_impersonate_targets()]
    assert len(ydl_params) == 2
    for params in ydl_params:
        target = params["impersonate"]
        assert isinstance(target, ImpersonateTarget)
        assert target == ImpersonateTarget.from_str(opts.impersonate)
        assert any(target in have for have in available), (target, available)
    # curl_cffi speaks as the browser: its client hints reach the server on every request.
    assert replay.requests and all("Sec-CH-UA" in r.headers for r in replay.requests)


# --- what their absence says ----------------------------------------------------------------

VIMEO_TLS = (
    "ERROR: [vimeo] 76979871: This request has been blocked due to its TLS fingerprint. Install a"
    " required impersonation dependency if possible, or else if you are okay with compromising"
    ' your security/cookies, try replacing "https:" with "http:" in the input URL. If you are'
    " using a data center IP or VPN/proxy, your IP may be blocked."
)


@pytest.mark.parametrize(
    "message",
    [
        VIMEO_TLS,
        "ERROR: [dailymotion] x8: "
        + YoutubeDL._unavailable_targets_message(
            [ImpersonateTarget("chrome")],
            note="The extractor is attempting impersonation",
            is_error=True,
        ),
        "ERROR: [TikTok] 67: "
        + YoutubeDL._unavailable_targets_message(
            [ImpersonateTarget()], note="The extractor is attempting impersonation", is_error=True
        ),
    ],
)
def test_a_site_that_wants_a_browser_fingerprint_says_impersonation_is_missing(
    message: str,
) -> None:
    err = error_for(DownloadError(message), "vimeo")
    assert type(err) is BlockedError
    assert "curl_cffi" in err.message
    assert "COOKIES" not in err.message, "a fingerprint is not a login"
    assert "compromising" not in err.message and "http:" not in err.message
    assert "github.com" not in err.message


def test_a_blocked_address_is_blocked_with_no_install_or_cookies_advice() -> None:
    err = error_for(
        DownloadError(
            'ERROR: [vimeo] 1: Got HTTP Error 403 when using impersonate target "chrome-133".'
            " If you are using a data center IP or VPN/proxy, your IP may be blocked"
        ),
        "vimeo",
    )
    assert type(err) is BlockedError
    assert "data center IP" in err.message
    assert "curl_cffi" not in err.message and "COOKIES" not in err.message
    err = error_for(
        DownloadError("ERROR: [TikTok] 1: Your IP address is blocked from accessing this post"),
        "tiktok",
    )
    assert type(err) is BlockedError
    assert "COOKIES" not in err.message, "cookies do not unblock an address"


def test_youtube_texts_of_today_map_to_what_they_mean() -> None:
    limited = error_for(
        DownloadError(
            "ERROR: [youtube] a: This content isn't available, try again later. The current"
            " session has been rate-limited by YouTube for up to an hour. It is recommended to use"
            " `-t sleep` to add a delay between video requests to avoid exceeding the rate limit."
            " For more information, refer to  https://github.com/yt-dlp/yt-dlp/wiki/Extractors"
        ),
        "youtube",
    )
    assert type(limited) is RateLimitedError
    assert "-t sleep" not in limited.message
    captcha = error_for(
        DownloadError(
            "ERROR: [youtube] a: Please sign in. YouTube is requiring a captcha challenge"
            " before playback"
        ),
        "youtube",
    )
    assert isinstance(captcha, BlockedError | LoginRequiredError)
    assert "TUIAPP_SOURCE_YOUTUBE__COOKIES" in captcha.message
    js = error_for(
        DownloadError(
            "ERROR: [youtube] a: n challenge solving failed: Some formats may be missing. Ensure"
            " you have a supported JavaScript runtime and challenge solver script distribution"
            " installed."
        ),
        "youtube",
    )
    assert "TUIAPP_SOURCE_YOUTUBE__DENO" in js.message


def test_the_impersonation_target_is_kept_for_the_installed_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tuiapp sources` and `doctor` ask yt-dlp once per installed yt-dlp and curl_cffi."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return "chrome-133:macos-15"

    monkeypatch.setattr(tools, "_ask_ytdlp", ask)
    monkeypatch.setattr(tools, "_versions", lambda: "yt-dlp 1; curl_cffi 1")
    for _ in range(2):
        tools.impersonate_target.cache_clear()
        assert tools.impersonate_target() == "chrome-133:macos-15"
    assert len(asked) == 1
    monkeypatch.setattr(tools, "_versions", lambda: "yt-dlp 2; curl_cffi 1")  # an upgrade
    tools.impersonate_target.cache_clear()
    tools.impersonate_target()
    assert len(asked) == 2
    monkeypatch.setattr(tools, "_versions", lambda: None)  # no curl_cffi: nothing to ask
    tools.impersonate_target.cache_clear()
    assert tools.impersonate_target() is None and len(asked) == 2
    tools.impersonate_target.cache_clear()
