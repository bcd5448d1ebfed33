"""Settings from the environment and a `.env` file, checked once, with errors naming the setting."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from tuiapp.errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["DEFAULT_USER_AGENT", "KEY_SETTINGS", "Settings", "load_settings"]

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
)

KEY_SETTINGS = ("UNSPLASH_ACCESS_KEY", "PEXELS_API_KEY", "PIXABAY_API_KEY")
"""API keys, read under exactly these names."""

_BASE_URL = re.compile(r"^TUIAPP_([A-Z0-9_]+)_BASE_URL$")
_SOURCE_SETTING = re.compile(r"^TUIAPP_SOURCE_([A-Z0-9_]+?)__([A-Z0-9_]+)$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}

T = TypeVar("T")


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
    http_port: int = 8765
    max_file_size: int = 2 * 1000**3
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
    allow_guests: bool = True
    user: str | None = None
    """The user the TUI and CLI act as; None for guest."""
    api_keys: Mapping[str, str] = field(default_factory=dict)
    base_urls: Mapping[str, str] = field(default_factory=dict)
    """Source name -> base URL override."""
    source_settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Source name -> its own settings (``TUIAPP_SOURCE_<NAME>__<KEY>``: cookies file, format)."""

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
            "downloads_per_source": self.downloads_per_source,
            "retries": self.retries,
            "base_urls": dict(self.base_urls),
            "keys_set": sorted(self.api_keys),
        }


def default_data_dir(env: Mapping[str, str]) -> Path:
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME", str(Path.home()))) / ".local" / "share"
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


def _parse(env: Mapping[str, str], name: str, conv: Callable[[str], T], default: T) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return conv(raw.strip())
    except (ValueError, TypeError) as exc:
        raise SettingsError(name, f"{raw!r} is not valid ({exc})") from None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be a whole number of at least 0")
    return value


def _seconds(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("must be a number of seconds above 0")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


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


def _database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
        raise ValueError("must start with sqlite://, postgres:// or asyncpg://")
    return raw


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: Path | None = None
) -> Settings:
    """Read settings from ``env`` (default: the process environment) over a `.env` file.

    Variables set in the environment win over the file. The file is ``TUIAPP_ENV_FILE`` or
    ``.env`` in the working directory, when it exists.

    Raises:
        SettingsError: a value is malformed; the message names the setting.
    """
    environ = dict(os.environ if env is None else env)
    path = env_file or Path(environ.get("TUIAPP_ENV_FILE", ".env"))
    if path.is_file():
        from dotenv import dotenv_values

        from_file = {k: v for k, v in dotenv_values(path).items() if v is not None}
        environ = {**from_file, **environ}
    elif "TUIAPP_ENV_FILE" in environ and env_file is None:
        raise SettingsError("TUIAPP_ENV_FILE", f"{path} does not exist")

    data_dir = Path(_parse(environ, "TUIAPP_DATA_DIR", str, str(default_data_dir(environ))))
    database_url = _parse(
        environ, "TUIAPP_DATABASE_URL", _database_url, sqlite_url(data_dir / "tuiapp.db")
    )

    base_urls: dict[str, str] = {}
    source_settings: dict[str, dict[str, str]] = {}
    for name, raw in environ.items():
        if m := _BASE_URL.match(name):
            base_urls[m.group(1).lower()] = _parse(environ, name, _url, "")
        elif m := _SOURCE_SETTING.match(name):
            source_settings.setdefault(m.group(1).lower(), {})[m.group(2).lower()] = raw

    user = environ.get("TUIAPP_USER", "").strip() or None
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        max_concurrent_sources=_parse(environ, "MAX_CONCURRENT_SOURCES", _positive_int, 5),
        request_timeout=_parse(environ, "REQUEST_TIMEOUT", _seconds, 15.0),
        source_timeout=_parse(environ, "SOURCE_TIMEOUT", _seconds, 30.0),
        global_job_timeout=_parse(environ, "GLOBAL_JOB_TIMEOUT", _seconds, 300.0),
        http_host=_parse(environ, "TUIAPP_HTTP_HOST", str, "127.0.0.1"),
        http_port=_parse(environ, "TUIAPP_HTTP_PORT", _port, 8765),
        max_file_size=_parse(environ, "TUIAPP_MAX_FILE_SIZE", parse_size, 2 * 1000**3),
        user_agent=_parse(environ, "TUIAPP_USER_AGENT", str, DEFAULT_USER_AGENT),
        downloads_per_source=_parse(environ, "TUIAPP_DOWNLOADS_PER_SOURCE", _positive_int, 8),
        connections_per_host=_parse(environ, "TUIAPP_CONNECTIONS_PER_HOST", _positive_int, 16),
        retries=_parse(environ, "TUIAPP_RETRIES", _non_negative_int, 3),
        retry_max_wait=_parse(environ, "TUIAPP_RETRY_MAX_WAIT", _seconds, 60.0),
        retry_base_delay=_parse(environ, "TUIAPP_RETRY_BASE_DELAY", _seconds, 0.5),
        allow_guests=_parse(environ, "TUIAPP_ALLOW_GUESTS", _bool, True),
        queue=_parse(environ, "TUIAPP_QUEUE", _bool, False),
        lease_seconds=_parse(environ, "TUIAPP_LEASE_SECONDS", _seconds, 30.0),
        worker_jobs=_parse(environ, "TUIAPP_WORKER_JOBS", _positive_int, 2),
        user=user,
        api_keys={k: environ[k].strip() for k in KEY_SETTINGS if environ.get(k, "").strip()},
        base_urls=base_urls,
        source_settings=source_settings,
    )
