"""Settings: environment over `.env`, checked by pydantic-settings, kept as one frozen value."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tuiapp.errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic_settings import PydanticBaseSettingsSource

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
    http_port: int = 8765
    max_file_size: int = 2 * 1000**3
    max_image_size: int = 100 * 1000**2
    """Images (and other files an image source finds) larger than this are refused as they
    arrive; videos keep ``max_file_size``."""
    allow_private_networks: bool = False
    """Let downloads reach loopback, private and link-local addresses (off: only the origins
    the user named, such as a base URL setting, may be private)."""
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


def _database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
        raise ValueError("must start with sqlite://, postgres:// or asyncpg://")
    return raw


# --- the variables, read and checked by pydantic-settings -----------------------------------

Count = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=0, le=65535)]
Size = Annotated[int, BeforeValidator(parse_size)]
BaseUrl = Annotated[str, AfterValidator(_url)]
DatabaseUrl = Annotated[str, AfterValidator(_database_url)]

_COUNT = "a whole number of at least 1"
_SECONDS = "a number of seconds above 0, such as 15 or 2.5"
_BOOL = "true or false (yes/no, on/off and 1/0 work too)"
_API_KEYS = ", ".join(KEY_SETTINGS)
_BASE_URLS = "TUIAPP_<SOURCE>_BASE_URL"
_SOURCE_SETTINGS = "TUIAPP_SOURCE_<SOURCE>__<KEY>"


def _variable(name: str, expected: str = "any text") -> Any:
    """A field read from the variable ``name``; ``expected`` completes "expected ..." in errors."""
    return Field(None, alias=name, description=expected)


class _Environment(BaseSettings):
    """The variables tuiapp reads, under their own names, each checked against its type.

    A field left None was not set (or set blank): the default on `Settings` holds. Field names
    are those of `Settings`, so a checked environment becomes a `Settings` field by field.
    """

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", env_ignore_empty=True)

    data_dir: Path | None = _variable("TUIAPP_DATA_DIR", "a directory path")
    database_url: DatabaseUrl | None = _variable(
        "TUIAPP_DATABASE_URL", "a URL starting with sqlite://, postgres:// or asyncpg://"
    )
    max_concurrent_sources: Count | None = _variable("MAX_CONCURRENT_SOURCES", _COUNT)
    request_timeout: Seconds | None = _variable("REQUEST_TIMEOUT", _SECONDS)
    source_timeout: Seconds | None = _variable("SOURCE_TIMEOUT", _SECONDS)
    global_job_timeout: Seconds | None = _variable("GLOBAL_JOB_TIMEOUT", _SECONDS)
    http_host: str | None = _variable("TUIAPP_HTTP_HOST", "a host name or IP address")
    http_port: Port | None = _variable("TUIAPP_HTTP_PORT", "a port number from 0 to 65535")
    max_file_size: Size | None = _variable(
        "TUIAPP_MAX_FILE_SIZE", "a size of at least 1 byte, such as 500MB, 2GiB or 1048576"
    )
    max_image_size: Size | None = _variable(
        "TUIAPP_MAX_IMAGE_SIZE", "a size of at least 1 byte, such as 100MB, 20MiB or 1048576"
    )
    allow_private_networks: bool | None = _variable("TUIAPP_ALLOW_PRIVATE_NETWORKS", _BOOL)
    user_agent: str | None = _variable("TUIAPP_USER_AGENT")
    downloads_per_source: Count | None = _variable("TUIAPP_DOWNLOADS_PER_SOURCE", _COUNT)
    connections_per_host: Count | None = _variable("TUIAPP_CONNECTIONS_PER_HOST", _COUNT)
    retries: NonNegative | None = _variable("TUIAPP_RETRIES", "a whole number of at least 0")
    retry_max_wait: Seconds | None = _variable("TUIAPP_RETRY_MAX_WAIT", _SECONDS)
    retry_base_delay: Seconds | None = _variable("TUIAPP_RETRY_BASE_DELAY", _SECONDS)
    queue: bool | None = _variable("TUIAPP_QUEUE", _BOOL)
    lease_seconds: Seconds | None = _variable("TUIAPP_LEASE_SECONDS", _SECONDS)
    worker_jobs: Count | None = _variable("TUIAPP_WORKER_JOBS", _COUNT)
    allow_guests: bool | None = _variable("TUIAPP_ALLOW_GUESTS", _BOOL)
    user: str | None = _variable("TUIAPP_USER", "a user name")
    api_keys: dict[str, str] | None = _variable(_API_KEYS)
    base_urls: dict[str, BaseUrl] | None = _variable(_BASE_URLS, "an http:// or https:// URL")
    source_settings: dict[str, dict[str, str]] | None = _variable(_SOURCE_SETTINGS)
    # Read only for the default data dir; not settings of their own.
    xdg_data_home: str | None = _variable("XDG_DATA_HOME", "a directory path")
    home: str | None = _variable("HOME", "a directory path")

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        """Trim every value (a blank one is not set) and group the per-source variables."""
        if not isinstance(data, dict):
            return data
        values: dict[str, Any] = {
            k: v.strip() for k, v in data.items() if isinstance(v, str) and v.strip()
        }
        base_urls: dict[str, str] = {}
        source_settings: dict[str, dict[str, str]] = {}
        for name, raw in values.items():
            if m := _BASE_URL.match(name):
                base_urls[m.group(1).lower()] = raw
            elif m := _SOURCE_SETTING.match(name):
                source_settings.setdefault(m.group(1).lower(), {})[m.group(2).lower()] = raw
        values[_API_KEYS] = {k: values[k] for k in KEY_SETTINGS if k in values}
        values[_BASE_URLS] = base_urls
        values[_SOURCE_SETTINGS] = source_settings
        return values

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment arrives as init values (load_settings hands over the mapping it was
        # given, the process environment by default), so it wins over the `.env` file and tests
        # need not patch os.environ.
        return init_settings, dotenv_settings


_FIELD_OF_VARIABLE = {f.alias: f for f in _Environment.model_fields.values()}


def _read_by_us(name: str) -> bool:
    return (
        name in _FIELD_OF_VARIABLE
        or name in KEY_SETTINGS
        or bool(_BASE_URL.match(name) or _SOURCE_SETTING.match(name))
    )


def _explain(error: ValidationError, environ: Mapping[str, str], env_file: Path) -> SettingsError:
    """One line for people: the variable, its value, where it was set, and what it must be."""
    problems: list[tuple[str, str]] = []
    for detail in error.errors():
        variable, *key = detail["loc"]
        field = _FIELD_OF_VARIABLE.get(str(variable))
        name = f"TUIAPP_{str(key[0]).upper()}_BASE_URL" if variable == _BASE_URLS else str(variable)
        origin = "the environment" if environ.get(name, "").strip() else f"the file {env_file}"
        expected = field.description if field and field.description else detail["msg"]
        problems.append(
            (name, f"{detail['input']!r} from {origin} is not valid; expected {expected}")
        )
    (name, problem), others = problems[0], sorted({n for n, _ in problems[1:]} - {problems[0][0]})
    if others:
        problem += f" (also not valid: {', '.join(others)})"
    return SettingsError(name, problem)


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
    # The variables go in as keyword arguments: only those we read, so no other name in the
    # environment can meet one of BaseSettings' own (`_env_file`, ...).
    arguments: dict[str, Any] = {n: v for n, v in environ.items() if _read_by_us(n)}
    arguments["_env_file"] = path if path.is_file() else None
    try:
        found = _Environment(**arguments)
    except ValidationError as exc:
        raise _explain(exc, environ, path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("TUIAPP_ENV_FILE", f"cannot read {path}: {exc}") from None

    values = found.model_dump(exclude_none=True, exclude={"xdg_data_home", "home"})
    data_dir = found.data_dir or default_data_dir(found.xdg_data_home, found.home)
    values["data_dir"] = data_dir
    values.setdefault("database_url", sqlite_url(data_dir / "tuiapp.db"))
    return Settings(**values)
