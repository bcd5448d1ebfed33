"""Settings: defaults, the .env file, and bad values explained in one line a person can act on."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tuiapp.config import Settings, load_settings, parse_size, sqlite_url
from tuiapp.errors import SettingsError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    s = load_settings({"HOME": str(tmp_path)}, env_file=tmp_path / "none")
    assert (s.max_concurrent_sources, s.request_timeout, s.source_timeout, s.global_job_timeout) == (
        5, 15.0, 30.0, 300.0,
    )  # fmt: skip
    assert s.http_host == "127.0.0.1"
    assert s.data_dir == tmp_path / ".local" / "share" / "tuiapp"
    assert s.database_url.startswith(f"sqlite://{s.data_dir}/tuiapp.db?")
    assert s.api_keys == {} and s.user is None and s.allow_guests
    assert s == Settings(data_dir=s.data_dir, database_url=s.database_url)


def test_the_data_dir_follows_xdg_data_home(tmp_path: Path) -> None:
    s = load_settings({"XDG_DATA_HOME": str(tmp_path / "xdg")}, env_file=tmp_path / "none")
    assert s.data_dir == tmp_path / "xdg" / "tuiapp"
    assert s.database_url == sqlite_url(tmp_path / "xdg" / "tuiapp" / "tuiapp.db")


# Each documented variable, a value other than its default, and what it becomes.
_SOURCE_SETTINGS = {"vimeo": {"cookies": "/c.txt"}, "yandex_images": {"proxy": "socks5h://p:1080"}}
_PROXY_ENVIRON = {
    "HTTPS_PROXY": "http://corp:8080",
    "HTTP_PROXY": "http://corp:8081",
    "ALL_PROXY": "socks5://corp:1080",
    "NO_PROXY": "intranet.example",
}
EVERY_SETTING: dict[str, tuple[str, str, Any]] = {
    "MAX_CONCURRENT_SOURCES": ("2", "max_concurrent_sources", 2),
    "REQUEST_TIMEOUT": ("2.5", "request_timeout", 2.5),
    "SOURCE_TIMEOUT": ("12", "source_timeout", 12.0),
    "GLOBAL_JOB_TIMEOUT": ("600", "global_job_timeout", 600.0),
    "UNSPLASH_ACCESS_KEY": ("u-key", "api_keys", {"UNSPLASH_ACCESS_KEY": "u-key"}),
    "TUIAPP_DATA_DIR": ("/srv/tuiapp", "data_dir", Path("/srv/tuiapp")),
    "TUIAPP_DATABASE_URL": ("postgres://db/tuiapp", "database_url", "postgres://db/tuiapp"),
    "TUIAPP_HTTP_HOST": ("0.0.0.0", "http_host", "0.0.0.0"),
    "TUIAPP_HTTP_PORT": ("9000", "http_port", 9000),
    "TUIAPP_MAX_FILE_SIZE": ("500MB", "max_file_size", 500_000_000),
    "TUIAPP_MAX_IMAGE_SIZE": ("20MB", "max_image_size", 20_000_000),
    "TUIAPP_HTTP_ALLOWED_HOSTS": ("nas.lan, NAS", "http_allowed_hosts", ("nas.lan", "nas")),
    "TUIAPP_ALLOW_PRIVATE_NETWORKS": ("true", "allow_private_networks", True),
    "TUIAPP_NEAR_DUPLICATES": ("off", "near_duplicates", False),
    "TUIAPP_USER_AGENT": ("tuiapp-test/1", "user_agent", "tuiapp-test/1"),
    "TUIAPP_DOWNLOADS_PER_SOURCE": ("3", "downloads_per_source", 3),
    "TUIAPP_CONNECTIONS_PER_HOST": ("4", "connections_per_host", 4),
    "TUIAPP_RETRIES": ("0", "retries", 0),
    "TUIAPP_RETRY_MAX_WAIT": ("9", "retry_max_wait", 9.0),
    "TUIAPP_RETRY_BASE_DELAY": ("0.25", "retry_base_delay", 0.25),
    "TUIAPP_USER": ("ada", "user", "ada"),
    "TUIAPP_ALLOW_GUESTS": ("no", "allow_guests", False),
    "TUIAPP_QUEUE": ("on", "queue", True),
    "TUIAPP_LEASE_SECONDS": ("5", "lease_seconds", 5.0),
    "TUIAPP_WATCH_TICK": ("2", "watch_tick", 2.0),
    "TUIAPP_WORKER_JOBS": ("7", "worker_jobs", 7),
    "TUIAPP_PICSUM_BASE_URL": (
        "http://127.0.0.1:9/",
        "base_urls",
        {"picsum": "http://127.0.0.1:9"},
    ),
    "TUIAPP_SOURCE_VIMEO__COOKIES": ("/c.txt", "source_settings", _SOURCE_SETTINGS),
    "TUIAPP_SOURCE_YANDEX_IMAGES__PROXY": ("socks5h://p:1080", "source_settings", _SOURCE_SETTINGS),
    "TUIAPP_PROXY": ("http://me:pw@proxy:3128", "proxy", "http://me:pw@proxy:3128"),
    "TUIAPP_DEFAULT_SOURCES": ("Bing_Images, pexels", "default_sources", ("bing_images", "pexels")),
    **{name: (raw, "proxy_environ", _PROXY_ENVIRON) for name, raw in _PROXY_ENVIRON.items()},
}


def test_every_documented_variable_is_read_into_its_setting(tmp_path: Path) -> None:
    env = {name: raw for name, (raw, _, _) in EVERY_SETTING.items()}
    s = load_settings(env, env_file=tmp_path / "none")
    default = Settings(data_dir=Path(), database_url="")
    for name, (_, attribute, expected) in EVERY_SETTING.items():
        assert getattr(s, attribute) == expected, name
        assert getattr(default, attribute) != expected, name


def test_the_readme_documents_exactly_the_variables_read() -> None:
    section = README.read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_<>]+)`", section))
    as_documented = {
        "TUIAPP_PICSUM_BASE_URL": "TUIAPP_<SOURCE>_BASE_URL",
        "TUIAPP_SOURCE_VIMEO__COOKIES": "TUIAPP_SOURCE_<SOURCE>__<KEY>",
        "TUIAPP_SOURCE_YANDEX_IMAGES__PROXY": "TUIAPP_SOURCE_<SOURCE>__PROXY",
    }
    read = {as_documented.get(name, name) for name in EVERY_SETTING}
    read |= {"PEXELS_API_KEY", "PIXABAY_API_KEY", "TUIAPP_ENV_FILE"}
    assert documented == read


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MAX_CONCURRENT_SOURCES=3\nSOURCE_TIMEOUT=12.5\nPEXELS_API_KEY=from-file\n")
    s = load_settings({"MAX_CONCURRENT_SOURCES": "7", "HOME": str(tmp_path)}, env_file=env_file)
    assert s.max_concurrent_sources == 7
    assert s.source_timeout == 12.5
    assert s.api_key("PEXELS_API_KEY") == "from-file"


def test_the_env_file_is_read_as_python_dotenv_reads_it(tmp_path: Path) -> None:
    """Comments, `export`, quotes and `${VAR}` from the file itself, as in python-dotenv."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n"
        "export TUIAPP_USER=ada\n"
        "TUIAPP_USER_AGENT='agent # not a comment'\n"
        'TUIAPP_SOURCE_VIMEO__COOKIES="${TUIAPP_USER}.txt"\n'
        "TUIAPP_QUEUE=yes  # inline comment\n"
    )
    s = load_settings({"HOME": str(tmp_path)}, env_file=env_file)
    assert (s.user, s.user_agent, s.queue) == ("ada", "agent # not a comment", True)
    assert s.source_settings == {"vimeo": {"cookies": "ada.txt"}}


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("Yes", True), ("on", True), ("1", True), ("false", False), ("OFF", False)],
)
def test_switches_take_the_usual_words(tmp_path: Path, raw: str, value: bool) -> None:
    s = load_settings({"TUIAPP_QUEUE": raw, "HOME": str(tmp_path)}, env_file=tmp_path / "none")
    assert s.queue is value


def test_tuiapp_env_file_names_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / "conf.env"
    env_file.write_text("TUIAPP_PICSUM_BASE_URL=http://127.0.0.1:1\nTUIAPP_WORKER_JOBS=4\n")
    s = load_settings({"TUIAPP_ENV_FILE": str(env_file), "HOME": str(tmp_path)})
    assert s.base_urls == {"picsum": "http://127.0.0.1:1"} and s.worker_jobs == 4


def test_a_blank_value_keeps_the_default_even_over_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REQUEST_TIMEOUT=3\nTUIAPP_USER=\n")
    s = load_settings(
        {"REQUEST_TIMEOUT": "  ", "SOURCE_TIMEOUT": " 7 ", "HOME": str(tmp_path)},
        env_file=env_file,
    )
    assert (s.request_timeout, s.source_timeout, s.user) == (15.0, 7.0, None)


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
    ("name", "value", "expected"),
    [
        ("MAX_CONCURRENT_SOURCES", "0", "a whole number of at least 1"),
        ("MAX_CONCURRENT_SOURCES", "abc", "a whole number of at least 1"),
        ("TUIAPP_WORKER_JOBS", "2.5", "a whole number of at least 1"),
        ("TUIAPP_RETRIES", "-1", "a whole number of at least 0"),
        ("REQUEST_TIMEOUT", "-1", "a number of seconds above 0"),
        ("REQUEST_TIMEOUT", "0", "a number of seconds above 0"),
        ("SOURCE_TIMEOUT", "nan", "a number of seconds above 0"),
        ("GLOBAL_JOB_TIMEOUT", "inf", "a number of seconds above 0"),
        ("TUIAPP_LEASE_SECONDS", "soon", "a number of seconds above 0"),
        ("TUIAPP_HTTP_PORT", "70000", "a port number from 0 to 65535"),
        ("TUIAPP_MAX_FILE_SIZE", "lots", "a size of at least 1 byte, such as 500MB"),
        ("TUIAPP_MAX_FILE_SIZE", "0", "a size of at least 1 byte"),
        ("TUIAPP_ALLOW_GUESTS", "maybe", "true or false"),
        ("TUIAPP_PEXELS_BASE_URL", "ftp://x", "an http:// or https:// URL"),
        ("TUIAPP_DATABASE_URL", "mysql://x", "a URL starting with sqlite://, postgres://"),
    ],
)
def test_a_bad_value_says_which_setting_what_value_and_what_is_expected(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value, "HOME": str(tmp_path)}, env_file=tmp_path / "none")
    assert info.value.setting == name
    assert str(info.value).startswith(f"{name}: {value!r} from the environment is not valid; ")
    assert f"expected {expected}" in str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("TUIAPP_PROXY", "http://me:s3cret@proxy:99999", "http://me:***@proxy:99999"),
        ("TUIAPP_PROXY", "me:s3cret@proxy/path", "me:***@proxy/path"),
        ("TUIAPP_SOURCE_BING_IMAGES__PROXY", "ftp://u:s3cret@p:21", "ftp://u:***@p:21"),
        ("TUIAPP_DATABASE_URL", "mysql://db:s3cret@host/x", "mysql://db:***@host/x"),
    ],
)
def test_a_bad_url_setting_never_repeats_its_password(
    tmp_path: Path, name: str, value: str, shown: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value, "HOME": str(tmp_path)}, env_file=tmp_path / "none")
    assert "s3cret" not in str(info.value)
    assert str(info.value).startswith(f"{name}: {shown!r} from the environment is not valid; ")


def test_a_bad_value_from_the_env_file_names_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / "project" / ".env"
    env_file.parent.mkdir()
    env_file.write_text("MAX_CONCURRENT_SOURCES=abc\n")
    with pytest.raises(SettingsError) as info:
        load_settings({"HOME": str(tmp_path)}, env_file=env_file)
    assert str(info.value) == (
        f"MAX_CONCURRENT_SOURCES: 'abc' from the file {env_file} is not valid; "
        "expected a whole number of at least 1"
    )


def test_the_error_is_one_line_without_the_libraries_wording(tmp_path: Path) -> None:
    """Not Python's "invalid literal for int()", nor a validation library's wording."""
    with pytest.raises(SettingsError) as info:
        load_settings({"MAX_CONCURRENT_SOURCES": "abc"}, env_file=tmp_path / "none")
    message = str(info.value)
    assert "\n" not in message
    for noise in ("invalid literal", "could not convert", "ValueError", "Expected `", "pydantic"):
        assert noise not in message


def test_several_bad_values_name_the_others_too(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TUIAPP_HTTP_PORT=-5\n")
    with pytest.raises(SettingsError) as info:
        load_settings({"MAX_CONCURRENT_SOURCES": "x", "TUIAPP_QUEUE": "perhaps"}, env_file=env_file)
    assert info.value.setting == "MAX_CONCURRENT_SOURCES"
    assert str(info.value).endswith("(also not valid: TUIAPP_HTTP_PORT, TUIAPP_QUEUE)")


def test_a_missing_env_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TUIAPP_ENV_FILE"):
        load_settings({"TUIAPP_ENV_FILE": str(tmp_path / "missing.env")})


def test_an_env_file_that_cannot_be_read_is_a_settings_error(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"REQUEST_TIMEOUT=\xff\xfe\n")
    with pytest.raises(SettingsError, match=f"^TUIAPP_ENV_FILE: cannot read {env_file}: "):
        load_settings({}, env_file=env_file)


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


def test_settings_stay_a_plain_value_built_and_replaced_by_keyword(tmp_path: Path) -> None:
    """Tests and the CLI build Settings directly and copy them with dataclasses.replace."""
    s = Settings(data_dir=tmp_path, database_url="sqlite://x", global_job_timeout=9)
    copy = dataclasses.replace(s, user=None, http_port=0)
    assert (copy.http_port, copy.global_job_timeout, copy.data_dir) == (0, 9, tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.user = "someone"  # type: ignore[misc]


def test_cli_help_does_not_import_the_settings_or_validation_library() -> None:
    """`tuiapp --help` stays fast: dotenv loads when settings are read, msgspec with the API."""
    libraries = "('pydantic', 'msgspec', 'dotenv')"
    code = f"import sys, tuiapp.cli; print(sorted(m for m in sys.modules if m.startswith({libraries})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
