"""Every error tuiapp raises on purpose: one tree, each with a stable code and a message."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BlockedAddressError",
    "BlockedError",
    "ContentRejectedError",
    "FencedError",
    "FetchError",
    "ForbiddenError",
    "FormatChangedError",
    "GeoBlockedError",
    "HTTPStatusError",
    "InvalidKeyError",
    "InvalidRequestError",
    "LoginRequiredError",
    "MissingKeyError",
    "NetworkError",
    "NotFoundError",
    "PrivateMediaError",
    "ProxyUnreachableError",
    "RateLimitedError",
    "SettingsError",
    "SourceError",
    "StalledError",
    "TooLargeError",
    "TuiappError",
    "UnauthorizedError",
    "UnavailableError",
    "UnreachableError",
    "UnsupportedURLError",
    "error_cause",
    "error_label",
]

_LABELS = {
    "offline": "offline",
    "network": "offline",
    "blocked": "blocked",
    "geo_blocked": "blocked",
    "login_required": "blocked",
    "missing_key": "no key",
    "invalid_key": "refused",
    "content_rejected": "refused",
    "too_large": "refused",
    "unsupported_url": "refused",
    "rate_limited": "rate limited",
    "format_changed": "format changed",
    "stalled": "timed out",
    "timed_out": "timed out",
    "private": "not found",
    "not_found": "not found",
}


def error_label(code: str | None, state: str | None = None) -> str:
    """A short label for an error code, the same in every client: offline, blocked, no key,
    rate limited, format changed, refused, timed out, not found, or failed."""
    if state == "timed_out":
        return "timed out"
    if code == "http_status":
        return "failed"
    return _LABELS.get(code or "", "failed")


def error_cause(message: str | None) -> str:
    """The first line of an error message, for a one-line display (the full text is kept)."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


class TuiappError(Exception):
    """Base of every error tuiapp raises on purpose.

    ``code`` is a stable slug for machines (HTTP API, JSON summaries); ``str(err)`` is for people.
    """

    code: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SettingsError(TuiappError):
    """A setting has a value tuiapp cannot use."""

    code = "bad_setting"

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


class FencedError(TuiappError):
    """A worker wrote for a job it no longer holds (another worker claimed it since)."""

    code = "fenced"


class UnavailableError(TuiappError):
    """The database cannot be reached just now (restarting, network cut): try again shortly."""

    code = "unavailable"
    retry_after = 5
    """Seconds after which trying again makes sense."""


class InvalidRequestError(TuiappError):
    """A request (job spec, API body, CLI argument) that cannot be carried out as given."""

    code = "invalid_request"


class NotFoundError(TuiappError):
    """No such job, asset or user, or it belongs to somebody else."""

    code = "not_found"


class UnauthorizedError(TuiappError):
    """Credentials were given but are not valid, or guests are turned off."""

    code = "unauthorized"


class ForbiddenError(TuiappError):
    """The caller is known but may not do this."""

    code = "forbidden"


# --- what a source or a transfer can run into -------------------------------------------------


class SourceError(TuiappError):
    """A source could not do its work; recorded against that source, never fatal to the job."""

    code = "source_error"


class MissingKeyError(SourceError):
    """The source needs an API key that is not set."""

    code = "missing_key"

    def __init__(self, setting: str) -> None:
        super().__init__(f"set {setting} to use this source")
        self.setting = setting


class InvalidKeyError(SourceError):
    """The service refused the API key (HTTP 401/403)."""

    code = "invalid_key"


class BlockedError(SourceError):
    """The site answered with a captcha, a consent wall or a bot check instead of results."""

    code = "blocked"


class FormatChangedError(SourceError):
    """The site answered 200 but nothing in the answer could be parsed: its format changed."""

    code = "format_changed"


class RateLimitedError(SourceError):
    """The service kept answering 429 after the retries."""

    code = "rate_limited"


class UnsupportedURLError(SourceError):
    """No source, or not this source, can handle that URL."""

    code = "unsupported_url"


class LoginRequiredError(SourceError):
    """The site wants a login (cookies) for this media."""

    code = "login_required"


class GeoBlockedError(SourceError):
    """The media is not available from this country."""

    code = "geo_blocked"


class PrivateMediaError(SourceError):
    """The media is private or was removed."""

    code = "private"


class FetchError(SourceError):
    """A transfer failed."""

    code = "fetch_failed"


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    code = "http_status"

    def __init__(self, status: int, url: str, detail: str = "") -> None:
        text = f"HTTP {status} from {url}"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.status = status
        self.url = url


class NetworkError(FetchError):
    """The connection failed (refused, reset, DNS, TLS)."""

    code = "network"


class UnreachableError(NetworkError):
    """No connection could be made to a host (name not resolved, refused, TLS failed).

    Not worth retrying file by file: a few in a row to one host take the source offline.
    """

    code = "offline"

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot reach {host} ({reason})")
        self.host = host
        self.reason = reason


class ProxyUnreachableError(UnreachableError):
    """The proxy a request goes through refused it or could not be reached: the proxy is named,
    not the site (which was never asked)."""

    def __init__(self, proxy: str, reason: str) -> None:
        super().__init__(f"proxy {proxy}", reason)
        self.proxy = proxy


class StalledError(FetchError):
    """No bytes arrived for longer than REQUEST_TIMEOUT."""

    code = "stalled"


class ContentRejectedError(FetchError):
    """The bytes are not what the source promised (an HTML page instead of an image)."""

    code = "content_rejected"


class TooLargeError(FetchError):
    """The file is larger than the configured maximum."""

    code = "too_large"


class BlockedAddressError(FetchError):
    """The fetcher refused a connection: a non-public address or non-http(s) URL; never retried.

    Loopback, private, link-local, CGNAT, multicast and other non-global addresses are refused
    unless the user named that origin (see ``tuiapp.fetch.policy``).
    """

    code = "blocked_address"
