"""yt-dlp's failures as tuiapp errors, with advice a user can act on (a setting, not a CLI flag).

Messages are checked against yt-dlp's own texts (its extractors' ``ExtractorError`` messages,
``_login_hint`` and ``_unavailable_targets_message``); the first rule that matches decides.
"""

from __future__ import annotations

import re

from tuiapp.errors import (
    BlockedError,
    GeoBlockedError,
    LoginRequiredError,
    PrivateMediaError,
    RateLimitedError,
    SourceError,
    UnreachableError,
    UnsupportedURLError,
)

__all__ = ["ANSI", "clean_message", "error_for"]

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""A terminal colour or cursor sequence (yt-dlp colours its messages)."""
_REPORT_BOILERPLATE = re.compile(
    r";?\s*please report this issue on\b.*$", re.IGNORECASE | re.DOTALL
)
_CLI_COOKIE_ADVICE = re.compile(r"\s*(?:Use|Try|Pass) --(?:cookies|username|netrc).*$", re.I | re.S)
_CLI_ADVICE = re.compile(
    r"\s*(?:It is recommended to use `-t sleep`|(?:If you encounter errors, then )?[Ss]ee\s+https?://"
    r"\S+#impersonation).*$",
    re.S,
)
_IMPERSONATED_YET_REFUSED = re.compile(r"when using impersonate target|ip address is blocked", re.I)
"""The site refused this network address (Vimeo even to an impersonated browser, TikTok's "Your IP
address is blocked"): a data centre's, a VPN's; neither an installation nor cookies fix it."""
_NEEDS_IMPERSONATION = re.compile(
    r"TLS fingerprint|compromising your security|impersonat(?:e|ion) (?:target|dependenc)", re.I
)
"""yt-dlp's words when a site wants a browser's TLS fingerprint and yt-dlp cannot give one:
Vimeo's "blocked due to its TLS fingerprint. Install a required impersonation dependency ...
compromising your security/cookies", and "The extractor is attempting impersonation, but no
impersonate target is available" (Dailymotion's HLS, TikTok)."""
_TLS_ADVICE = re.compile(r"\s*Install a required impersonation dependency.*$", re.S)
_IMPERSONATION_HELP = (
    "Impersonation is missing: this site answers only to a browser's TLS fingerprint, which"
    " yt-dlp gives with the curl_cffi package; install it with pip install 'yt-dlp[curl-cffi]'"
    " (tuiapp's installation includes it)"
)
_HOST = re.compile(r"host='([^']+)'|Failed to resolve '([^']+)'|https?://([^/\s:'\"()<>]+)", re.I)
"""Where the library names the host it could not reach (urllib3's ``HTTPSConnectionPool(host=
'...')``, ``Failed to resolve '...'``) or, failing that, the first URL of the message."""
_UNREACHABLE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"name resolution|failed to resolve|getaddrinfo failed|name or service not known"
            r"|nodename nor servname|no address associated|NameResolutionError",
            re.I,
        ),
        "name not resolved",
    ),
    (re.compile(r"connection refused|ConnectionRefusedError", re.I), "connection refused"),
    (re.compile(r"network is unreachable|no route to host", re.I), "network unreachable"),
    (re.compile(r"certificate verify failed|SSLError|ssl\b.*error", re.I), "TLS failed"),
    (re.compile(r"timed out|ConnectTimeout|read timeout", re.I), "no answer"),
)
"""A network failure's words (urllib3, requests, urllib, curl_cffi), and what to call it."""


def _unreachable(exc: BaseException, cause: BaseException | None, message: str) -> str | None:
    """Why no connection could be made, in the fetcher's words; None for other failures (an
    HTTP error answer is not one: the site was reached)."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    if isinstance(exc, HTTPError) or isinstance(cause, HTTPError):
        return None
    transport = isinstance(exc, TransportError) or isinstance(cause, TransportError)
    reason = next((why for rule, why in _UNREACHABLE if rule.search(message)), None)
    if reason is None and transport:
        return "connection failed"
    if reason is not None and (transport or "unable to download" in message.lower()):
        return reason
    return None


_NEEDS_JS = re.compile(r"javascript runtime|--js-runtimes|challenge solv", re.I)

# Ordered: the first rule that matches decides. "Private video. Sign in if you've been granted
# access" is private, not a login problem, so privacy is checked before logins.
_RULES: tuple[tuple[re.Pattern[str], type[SourceError]], ...] = (
    (
        re.compile(r"unsupported url|no suitable extractor|is not a valid url", re.I),
        UnsupportedURLError,
    ),
    (
        re.compile(
            r"geo[- ]?restrict|geo[- ]?block|not (?:be )?available (?:in|from) your "
            r"(?:country|location|region)|blocked it in your country|in your country",
            re.I,
        ),
        GeoBlockedError,
    ),
    (re.compile(r"not a bot|captcha|unusual traffic|cloudflare anti-bot", re.I), BlockedError),
    (re.compile(r"http error 429|too many requests|rate[- ]limit", re.I), RateLimitedError),
    (
        re.compile(
            r"private|has been removed|been deleted|no longer available|video unavailable"
            r"|does not exist|account .*terminated|taken down|http error 404|http error 410",
            re.I,
        ),
        PrivateMediaError,
    ),
    (
        re.compile(
            r"sign in|log ?in\b|logged[- ]in|login|authenticat|--cookies|--username|cookies"
            r"|registered users|members[- ]only|subscri|premium|confirm your age"
            r"|age[- ]restricted|oauth token|http error 401",
            re.I,
        ),
        LoginRequiredError,
    ),
)
_NEEDS_COOKIES = (LoginRequiredError, BlockedError)


def clean_message(text: str) -> str:
    """yt-dlp's message without colours, its ``ERROR:`` prefix and its bug-report boilerplate."""
    text = ANSI.sub("", text)
    text = _REPORT_BOILERPLATE.sub("", text)
    text = re.sub(r"^\s*ERROR:\s*", "", text)
    return " ".join(text.split()).rstrip(";, ")


def error_for(exc: BaseException, source: str) -> SourceError:
    """The tuiapp error a yt-dlp failure means, with a message a user can act on.

    Args:
        exc: what yt-dlp raised (a ``DownloadError`` usually wraps the extractor's error).
        source: the source's name, to name its cookies setting in the advice.
    """
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    original = getattr(exc, "exc_info", None)
    cause = original[1] if isinstance(original, tuple) and len(original) > 1 else None
    message = clean_message(str(exc)) or type(exc).__name__
    cls: type[SourceError] | None = None
    if isinstance(exc, GeoRestrictedError) or isinstance(cause, GeoRestrictedError):
        cls = GeoBlockedError
    elif isinstance(exc, UnsupportedError) or isinstance(cause, UnsupportedError):
        cls = UnsupportedURLError
    else:
        cls = next((c for rule, c in _RULES if rule.search(message)), None)
    if cls is None and (why := _unreachable(exc, cause, message)) is not None:
        # Offline, as the image sources say it: the host and a few words, never the library's
        # connection-pool text.
        found = _HOST.search(message)
        host = next((g for g in found.groups() if g), None) if found else None
        return UnreachableError(host or source, why)
    if _IMPERSONATED_YET_REFUSED.search(message):
        return BlockedError(message)
    if _NEEDS_IMPERSONATION.search(message):
        # Before the cookies rule: "security/cookies" is not about a login.
        message = _CLI_ADVICE.sub("", _TLS_ADVICE.sub("", message)).strip().rstrip(".,")
        return BlockedError(f"{message}. {_IMPERSONATION_HELP}")
    if re.search(r"ffmpeg", message, re.I):
        return SourceError(
            f"{message} (install ffmpeg or the imageio-ffmpeg package, or set"
            f" TUIAPP_SOURCE_{source.upper()}__FFMPEG to it; or choose a single-file format"
            " such as 'b')"
        )
    if _NEEDS_JS.search(message):
        return SourceError(
            f"{message} (install deno, on PATH or as the deno package, or set"
            f" TUIAPP_SOURCE_{source.upper()}__DENO to it)"
        )
    if re.search(r"requested format is not available", message, re.I):
        return SourceError(f"{message} (choose another format or quality option)")
    # yt-dlp's advice names its command-line flags; name the setting that does it here.
    advised = _CLI_COOKIE_ADVICE.search(message) is not None
    message = _CLI_ADVICE.sub("", _CLI_COOKIE_ADVICE.sub("", message)).strip()
    if advised or cls in _NEEDS_COOKIES:
        setting = f"TUIAPP_SOURCE_{source.upper()}__COOKIES"
        message = (
            f"{message} (set {setting} to a cookies.txt file exported from a logged-in browser)"
        )
    return (cls or SourceError)(message)
