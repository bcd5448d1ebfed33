"""Settings: defaults, the .env file, and bad values named in the error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tuiapp.config import load_settings, parse_size
from tuiapp.errors import SettingsError

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    s = load_settings({"HOME": str(tmp_path)}, env_file=tmp_path / "none")
    assert (s.max_concurrent_sources, s.request_timeout, s.source_timeout, s.global_job_timeout) == (
        5, 15.0, 30.0, 300.0,
    )  # fmt: skip
    assert s.http_host == "127.0.0.1"
    assert s.data_dir == tmp_path / ".local" / "share" / "tuiapp"
    assert s.database_url.startswith(f"sqlite://{s.data_dir}/tuiapp.db?")
    assert s.api_keys == {} and s.user is None and s.allow_guests


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MAX_CONCURRENT_SOURCES=3\nSOURCE_TIMEOUT=12.5\nPEXELS_API_KEY=from-file\n")
    s = load_settings({"MAX_CONCURRENT_SOURCES": "7", "HOME": str(tmp_path)}, env_file=env_file)
    assert s.max_concurrent_sources == 7
    assert s.source_timeout == 12.5
    assert s.api_key("PEXELS_API_KEY") == "from-file"


def test_base_urls_and_source_settings_are_read_per_source(tmp_path: Path) -> None:
    s = load_settings(
        {
            "TUIAPP_BING_IMAGES_BASE_URL": "http://127.0.0.1:8000/",
            "TUIAPP_SOURCE_VIMEO__COOKIES": "/tmp/c.txt",
            "HOME": str(tmp_path),
        },
        env_file=tmp_path / "none",
    )
    assert s.base_urls == {"bing_images": "http://127.0.0.1:8000"}
    assert s.source_settings == {"vimeo": {"cookies": "/tmp/c.txt"}}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_CONCURRENT_SOURCES", "0"),
        ("MAX_CONCURRENT_SOURCES", "many"),
        ("REQUEST_TIMEOUT", "-1"),
        ("SOURCE_TIMEOUT", "nan"),
        ("GLOBAL_JOB_TIMEOUT", "inf"),
        ("TUIAPP_HTTP_PORT", "70000"),
        ("TUIAPP_MAX_FILE_SIZE", "lots"),
        ("TUIAPP_ALLOW_GUESTS", "maybe"),
        ("TUIAPP_PEXELS_BASE_URL", "ftp://x"),
        ("TUIAPP_DATABASE_URL", "mysql://x"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_setting(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value, "HOME": str(tmp_path)}, env_file=tmp_path / "none")
    assert info.value.setting == name
    assert str(info.value).startswith(f"{name}: ")
    assert repr(value) in str(info.value)


def test_a_missing_env_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TUIAPP_ENV_FILE"):
        load_settings({"TUIAPP_ENV_FILE": str(tmp_path / "missing.env")})


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("500MB", 500_000_000),
        ("2GiB", 2 * 1024**3),
        ("1.5k", 1500),
        ("10 KiB", 10240),
    ],
)
def test_sizes_take_units(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_snapshots_hold_no_secrets(tmp_path: Path) -> None:
    s = load_settings(
        {"PEXELS_API_KEY": "secret-key", "HOME": str(tmp_path)}, env_file=tmp_path / "n"
    )
    snap = s.snapshot()
    assert "secret-key" not in repr(snap)
    assert snap["keys_set"] == ["PEXELS_API_KEY"]
