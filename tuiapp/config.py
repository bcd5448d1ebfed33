"""Settings: environment over `.env`, each variable checked as it is read, one frozen value."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from tuiapp.errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "DEFAULT_USER_AGENT",
    "KEY_SETTINGS",
    "Settings",
    "load_settings",
    "parse_size",
    "sqlite_url",
]

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
)

KEY_SETTINGS = ("UNSPLASH_ACCESS_KEY", "PEXELS_API_KEY", "PIXABAY_API_KEY")
"""API keys, read under exactly these names."""

_BASE_URL = re.compile(r"^TUIAPP_([A-Z0-9_]+)_BASE_URL$")
_SOURCE_SETTING = re.compile(r"^TUIAPP_SOURCE_([A-Z0-9_]+?)__([A-Z0-9_]+)$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_PROXY_EXPECTED = "a proxy URL such as http://host:3128, socks5h://user:password@host:1080"
_PROXY_VARIABLES = (
    "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "REQUEST_METHOD",
)  # fmt: skip
_SIZE_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting tuiapp reads. Build with :func:`load_settings`; tests build it directly."""

    data_dir: Path
    database_url: str
    max_concurrent_sources: int = 5
    request_timeout: float = 15.0
    """Connect, and longest wait between bytes, of one HTTP request (stall detection)."""
    source_timeout: float = 30.0
    """How long one source may spend searching; a moving transfer is not cut by it."""
    global_job_timeout: float = 300.0
    http_host: str = "127.0.0.1"
    http_allowed_hosts: tuple[str, ...] = ()
    """Host names the HTTP API answers to besides its address and the loopback names (a name
    this machine has on the network, say); any other ``Host`` is refused."""
    http_port: int = 8765
    max_file_size: int = 2 * 1000**3
    max_image_size: int = 100 * 1000**2
    """Images (and other files an image source finds) larger than this are refused as they
    arrive; videos keep ``max_file_size``."""
    allow_private_networks: bool = False
    """Let downloads reach loopback, private and link-local addresses (off: only the origins
    the user named, such as a base URL setting, may be private)."""
    near_duplicates: bool = True
    """Fingerprint stored pictures and group near-duplicates (off: no picture is decoded)."""
    user_agent: str = DEFAULT_USER_AGENT
    downloads_per_source: int = 8
    """Files of one source downloaded at the same time."""
    connections_per_host: int = 16
    retries: int = 3
    """Retries of a request that failed with 429, 5xx or a connection error."""
    retry_max_wait: float = 60.0
    """Longest wait before a retry; a longer Retry-After fails the request instead."""
    retry_base_delay: float = 0.5
    queue: bool = False
    """Jobs go through the database's queue and are run by `tuiapp serve --worker` processes
    (PostgreSQL for several machines); off: each process runs the jobs it submits."""
    lease_seconds: float = 30.0
    """How long a worker holds a job without renewing its lease before another may take over."""
    worker_jobs: int = 2
    """Jobs one worker runs at the same time."""
    watch_tick: float = 15.0
    """Seconds between the watch scheduler's looks for due watches (a job's end, or a watch
    added here, wakes it sooner)."""
    allow_guests: bool = True
    user: str | None = None
    """The user the TUI and CLI act as; None for guest."""
    default_sources: tuple[str, ...] = ()
    """Where search words go when a job names no source (empty: the keyless image search
    sources ready here)."""
    api_keys: Mapping[str, str] = field(default_factory=dict)
    base_urls: Mapping[str, str] = field(default_factory=dict)
    """Source name -> base URL override."""
    source_settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Source name -> its own settings (``TUIAPP_SOURCE_<NAME>__<KEY>``: cookies file, format,
    ``proxy``)."""
    proxy: str | None = None
    """``TUIAPP_PROXY``: the proxy every request of every source goes through."""
    proxy_environ: Mapping[str, str] = field(default_factory=dict)
    """The standard proxy variables (``HTTPS_PROXY``, ``NO_PROXY``...) as they were set, read
    when ``proxy`` is None; tests that build settings directly leave them out."""

    def api_key(self, setting: str | None) -> str | None:
        return self.api_keys.get(setting) if setting else None

    def snapshot(self) -> dict[str, Any]:
        """The settings a job ran with, as stored with the job (no secrets)."""
        return {
            "max_concurrent_sources": self.max_concurrent_sources,
            "request_timeout": self.request_timeout,
            "source_timeout": self.source_timeout,
            "global_job_timeout": self.global_job_timeout,
            "max_file_size": self.max_file_size,
            "max_image_size": self.max_image_size,
            "downloads_per_source": self.downloads_per_source,
            "retries": self.retries,
            "base_urls": dict(self.base_urls),
            "keys_set": sorted(self.api_keys),
        }


def default_data_dir(xdg_data_home: str | None, home: str | None) -> Path:
    """``$XDG_DATA_HOME/tuiapp``, or ``~/.local/share/tuiapp`` when that is not set."""
    base = Path(xdg_data_home) if xdg_data_home else Path(home or Path.home()) / ".local" / "share"
    return base / "tuiapp"


def sqlite_url(path: Path) -> str:
    """WAL (the ORM's default), a busy timeout, and pragmas measured to matter for bulk writes.

    synchronous=NORMAL is safe under WAL (FULL costs ~20% of ingest speed). A WAL truncated
    after every checkpoint (the ORM's default journal_size_limit of 16 KB) and checkpoints every
    few MB halve the speed of large files; checkpoints every 32 MB (2048 pages of 16 KiB, see
    storage) and a 64 MB limit do not. A 1 MiB page cache (half the default) keeps memory flat
    while large files stream through, at no cost in speed.
    """
    return (
        f"sqlite://{path}?busy_timeout=5000&synchronous=NORMAL"
        "&journal_size_limit=67108864&wal_autocheckpoint=2048&cache_size=-1024"
    )


def parse_size(raw: str) -> int:
    """``"500MB"``, ``"2GiB"``, ``"1048576"`` -> bytes."""
    match = _SIZE.match(raw)
    if not match:
        raise ValueError("must be a size such as 500MB or 2GiB")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    binary = "i" in unit
    letter = unit.rstrip("b").rstrip("i")
    factor = 1024 ** "kmgt".index(letter) * 1024 if binary and letter else _SIZE_UNITS[letter]
    value = int(number * factor)
    if value < 1:
        raise ValueError("must be at least 1 byte")
    return value


def _url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return raw.rstrip("/")


_LOGIN = re.compile(r"(^|://)([^:/@\s]*):[^@/\s]*@")
"""A URL's ``user:password@`` (a proxy's, a database's), for masking in messages."""


def _proxy_url(raw: str) -> str:
    """A proxy URL: http, https, socks5 or socks5h (no scheme: http), a host, maybe a port."""
    text = raw if "://" in raw else "http://" + raw
    parts = urlsplit(text)
    if parts.scheme.lower() not in _PROXY_SCHEMES or not parts.hostname:
        raise ValueError(raw)
    _ = parts.port  # raises ValueError for a port that is not one
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(raw)
    return raw


def _database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
        raise ValueError("must start with sqlite://, postgres:// or asyncpg://")
    return raw


# --- the variables: each one's setting, reader and what it must be ---------------------------


def _whole(least: int, most: float = math.inf) -> Callable[[str], int]:
    def read(raw: str) -> int:
        value = int(raw)
        if not least <= value <= most:
            raise ValueError(raw)
        return value

    return read


def _seconds(raw: str) -> float:
    value = float(raw)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(raw)
    return value


_TRUTH = {"1": True, "true": True, "t": True, "yes": True, "y": True, "on": True}
_TRUTH |= {"0": False, "false": False, "f": False, "no": False, "n": False, "off": False}


def _bool(raw: str) -> bool:
    if raw.lower() not in _TRUTH:
        raise ValueError(raw)
    return _TRUTH[raw.lower()]


def _source_names(raw: str) -> tuple[str, ...]:
    """Source names as the registry spells them (``bing_images``): letters, digits, ``_``."""
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    if not all(n.replace("_", "").isalnum() for n in names):
        raise ValueError(raw)
    return names


def _names(raw: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    if not all(n.replace(".", "").replace("-", "").replace(":", "").isalnum() for n in names):
        raise ValueError(raw)
    return names


class _Variable(NamedTuple):
    setting: str
    """The field of `Settings` it fills."""
    read: Callable[[str], Any]
    """Text -> value; raises ValueError for text it cannot use."""
    expected: str
    """Completes "expected ..." in an error."""


_COUNT = "a whole number of at least 1"
_SECONDS = "a number of seconds above 0, such as 15 or 2.5"
_BOOL = "true or false (yes/no, on/off and 1/0 work too)"
_SIZE_OF = "a size of at least 1 byte, such as {}, {} or 1048576"

_VARIABLES: dict[str, _Variable] = {
    "TUIAPP_DATA_DIR": _Variable("data_dir", Path, "a directory path"),
    "TUIAPP_DATABASE_URL": _Variable(
        "database_url", _database_url, "a URL starting with sqlite://, postgres:// or asyncpg://"
    ),
    "MAX_CONCURRENT_SOURCES": _Variable("max_concurrent_sources", _whole(1), _COUNT),
    "REQUEST_TIMEOUT": _Variable("request_timeout", _seconds, _SECONDS),
    "SOURCE_TIMEOUT": _Variable("source_timeout", _seconds, _SECONDS),
    "GLOBAL_JOB_TIMEOUT": _Variable("global_job_timeout", _seconds, _SECONDS),
    "TUIAPP_HTTP_HOST": _Variable("http_host", str, "a host name or IP address"),
    "TUIAPP_HTTP_PORT": _Variable("http_port", _whole(0, 65535), "a port number from 0 to 65535"),
    "TUIAPP_HTTP_ALLOWED_HOSTS": _Variable(
        "http_allowed_hosts", _names, "host names separated by commas, such as nas.lan,nas"
    ),
    "TUIAPP_MAX_FILE_SIZE": _Variable(
        "max_file_size", parse_size, _SIZE_OF.format("500MB", "2GiB")
    ),
    "TUIAPP_MAX_IMAGE_SIZE": _Variable(
        "max_image_size", parse_size, _SIZE_OF.format("100MB", "20MiB")
    ),
    "TUIAPP_ALLOW_PRIVATE_NETWORKS": _Variable("allow_private_networks", _bool, _BOOL),
    "TUIAPP_NEAR_DUPLICATES": _Variable("near_duplicates", _bool, _BOOL),
    "TUIAPP_USER_AGENT": _Variable("user_agent", str, "any text"),
    "TUIAPP_DOWNLOADS_PER_SOURCE": _Variable("downloads_per_source", _whole(1), _COUNT),
    "TUIAPP_CONNECTIONS_PER_HOST": _Variable("connections_per_host", _whole(1), _COUNT),
    "TUIAPP_RETRIES": _Variable("retries", _whole(0), "a whole number of at least 0"),
    "TUIAPP_RETRY_MAX_WAIT": _Variable("retry_max_wait", _seconds, _SECONDS),
    "TUIAPP_RETRY_BASE_DELAY": _Variable("retry_base_delay", _seconds, _SECONDS),
    "TUIAPP_QUEUE": _Variable("queue", _bool, _BOOL),
    "TUIAPP_LEASE_SECONDS": _Variable("lease_seconds", _seconds, _SECONDS),
    "TUIAPP_WORKER_JOBS": _Variable("worker_jobs", _whole(1), _COUNT),
    "TUIAPP_WATCH_TICK": _Variable("watch_tick", _seconds, _SECONDS),
    "TUIAPP_ALLOW_GUESTS": _Variable("allow_guests", _bool, _BOOL),
    "TUIAPP_USER": _Variable("user", str, "a user name"),
    "TUIAPP_DEFAULT_SOURCES": _Variable(
        "default_sources",
        _source_names,
        "source names separated by commas, such as bing_images,pexels",
    ),
    "TUIAPP_PROXY": _Variable("proxy", _proxy_url, _PROXY_EXPECTED),
}
"""Every variable with a setting of its own, in the order errors are reported."""
_BASE_URL_VARIABLE = _Variable("base_urls", _url, "an http:// or https:// URL")


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: Path | None = None
) -> Settings:
    """Read settings from ``env`` (default: the process environment) over a `.env` file.

    Variables set in the environment win over the file; a blank value counts as not set. The
    file is ``TUIAPP_ENV_FILE`` or ``.env`` in the working directory, when it exists.

    Raises:
        SettingsError: a value is malformed or out of range, or the file cannot be read; the
            message names the setting, its value, where it was set and what it must be.
    """
    environ = os.environ if env is None else env
    path = (env_file or Path(environ.get("TUIAPP_ENV_FILE", ".env"))).absolute()
    if not path.is_file() and "TUIAPP_ENV_FILE" in environ and env_file is None:
        raise SettingsError("TUIAPP_ENV_FILE", f"{path} does not exist")
    from_file: dict[str, str | None] = {}
    try:
        if path.is_file():
            # Imported here: most runs have no `.env`, and `tuiapp --help` reads no settings.
            from dotenv import dotenv_values

            from_file = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("TUIAPP_ENV_FILE", f"cannot read {path}: {exc}") from None
    # The environment wins over the file, even with a blank value: blank means not set.
    raw = {n: v.strip() for n, v in {**from_file, **environ}.items() if v and v.strip()}

    problems: list[tuple[str, str]] = []

    def read(name: str, variable: _Variable) -> Any:
        try:
            return variable.read(raw[name])
        except ValueError:
            origin = "the environment" if environ.get(name, "").strip() else f"the file {path}"
            shown = _LOGIN.sub(r"\1\2:***@", raw[name])  # a URL's password is never repeated
            problem = f"{shown!r} from {origin} is not valid; expected {variable.expected}"
            problems.append((name, problem))
            return None

    values = {v.setting: read(n, v) for n, v in _VARIABLES.items() if n in raw}
    values["api_keys"] = {name: raw[name] for name in KEY_SETTINGS if name in raw}
    base_urls: dict[str, str] = {}
    source_settings: dict[str, dict[str, str]] = {}
    for name, value in raw.items():
        if m := _BASE_URL.match(name):
            base_urls[m.group(1).lower()] = read(name, _BASE_URL_VARIABLE)
        elif m := _SOURCE_SETTING.match(name):
            if m.group(2) == "PROXY":
                value = read(name, _Variable("source_settings", _proxy_url, _PROXY_EXPECTED))
            source_settings.setdefault(m.group(1).lower(), {})[m.group(2).lower()] = value
    values |= {"base_urls": base_urls, "source_settings": source_settings}
    # The standard variables, as the environment has them: a .env file does not set them for
    # curl or for other programs, so it does not set them here either.
    values["proxy_environ"] = {n: environ[n] for n in _PROXY_VARIABLES if environ.get(n)}
    if problems:
        (name, problem), *others = problems
        if others:
            problem += f" (also not valid: {', '.join(sorted({n for n, _ in others}))})"
        raise SettingsError(name, problem)

    data_dir = values.get("data_dir") or default_data_dir(raw.get("XDG_DATA_HOME"), raw.get("HOME"))
    values["data_dir"] = data_dir
    values.setdefault("database_url", sqlite_url(data_dir / "tuiapp.db"))
    return Settings(**values)
