"""Which proxy carries a request: a source's own, ``TUIAPP_PROXY``, or the standard variables.

The order, for each request:

1. ``TUIAPP_SOURCE_<SOURCE>__PROXY`` for the source the request is made for (see
   :func:`acting_for`: the engine names the source for everything a source run does, its pages
   and its downloads);
2. ``TUIAPP_PROXY``, for every request of every source;
3. when neither is set, the standard variables, read as curl reads them: ``https_proxy`` for
   https URLs and ``http_proxy`` for http ones (either case, but ``HTTP_PROXY`` in upper case is
   ignored when ``REQUEST_METHOD`` says this runs as a CGI script), then ``all_proxy``; and
   ``no_proxy`` lists the hosts that go direct (``*``, names matching as themselves or as a
   domain, IP addresses, CIDR ranges; ports are not compared).

``TUIAPP_PROXY`` and a source's own proxy are used for every host, ``no_proxy`` does not apply
to them: a user who names a proxy for tuiapp means all of tuiapp's traffic.

A proxy is ``http://``, ``https://``, ``socks5://`` (names resolved here) or ``socks5h://``
(names resolved by the proxy), with an optional ``user:password@``; a proxy without a scheme is
``http://``, as curl takes it. The password is never shown (:meth:`Proxy.shown`).

The plan alone, read from the settings with no network library: `tuiapp doctor` describes it
without loading the HTTP client; ``fetch.proxy`` makes the sessions that go through a proxy.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tuiapp.config import Settings

__all__ = [
    "PROXY_SCHEMES",
    "STANDARD_VARIABLES",
    "Proxy",
    "ProxyPlan",
    "acting_for",
    "bypassed",
    "current_source",
    "parse_proxy",
    "proxy_plan",
]

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
STANDARD_VARIABLES = (
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
)
"""The environment variables a :class:`ProxyPlan` reads when no proxy setting is given."""
_DEFAULT_PORT = {"http": 1080, "https": 443, "socks5": 1080, "socks5h": 1080}
"""curl's default proxy ports."""

_source: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tuiapp_fetch_source", default=None
)


@contextlib.contextmanager
def acting_for(source: str) -> Iterator[None]:
    """Requests made in this context (and the tasks it starts) are made for ``source``."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def current_source() -> str | None:
    """The source the current task works for, if the engine named one."""
    return _source.get()


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy: where it is and how to log in to it."""

    scheme: str
    """``http``, ``https``, ``socks5`` or ``socks5h``."""
    host: str
    """Lower case; an IPv6 address without brackets."""
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """``host:port``, as errors and ``tuiapp doctor`` name the proxy."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The proxy's URL with its credentials (for curl and yt-dlp; never shown)."""
        login = ""
        if self.username is not None:
            login = quote(self.username, safe="")
            if self.password is not None:
                login += ":" + quote(self.password, safe="")
            login += "@"
        return f"{self.scheme}://{login}{self.address}"

    @property
    def bare_url(self) -> str:
        """The proxy's URL without credentials."""
        return f"{self.scheme}://{self.address}"

    def shown(self) -> str:
        """The URL with the password masked: ``http://user:***@proxy:3128``."""
        if self.username is None:
            return self.bare_url
        secret = ":***" if self.password is not None else ""
        return f"{self.scheme}://{quote(self.username, safe='')}{secret}@{self.address}"

    @property
    def remote_names(self) -> bool:
        """True when the proxy resolves names (http(s) proxies and ``socks5h``)."""
        return self.scheme != "socks5"


def parse_proxy(raw: str) -> Proxy:
    """A proxy from its URL.

    Raises:
        ValueError: not a proxy URL tuiapp can use, with a sentence saying why.
    """
    text = raw.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise ValueError(f"{scheme}:// proxies are not supported")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("the proxy URL names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a proxy URL is only scheme://[user:password@]host[:port]")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Proxy(scheme, host, port or _DEFAULT_PORT[scheme], username, password)


class ProxyPlan:
    """The proxies of an installation, and which one each request takes.

    Args:
        proxy: ``TUIAPP_PROXY``, parsed.
        per_source: source name -> its own proxy (``TUIAPP_SOURCE_<SOURCE>__PROXY``).
        environ: the standard variables (:data:`STANDARD_VARIABLES`); read only when ``proxy``
            is None.
    """

    def __init__(
        self,
        proxy: Proxy | None = None,
        per_source: Mapping[str, Proxy] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.proxy = proxy
        self.per_source = dict(per_source or {})
        env = {k: v.strip() for k, v in (environ or {}).items() if v and v.strip()}
        self._env: dict[str, Proxy] = {}
        self.problems: list[str] = []
        """Standard variables that hold no usable proxy (they are then ignored)."""
        cgi = "REQUEST_METHOD" in env
        for scheme, names in (
            ("https", ("https_proxy", "HTTPS_PROXY")),
            ("http", ("http_proxy",) if cgi else ("http_proxy", "HTTP_PROXY")),
            ("all", ("all_proxy", "ALL_PROXY")),
        ):
            name = next((n for n in names if n in env), None)
            if name is None:
                continue
            try:
                self._env[scheme] = parse_proxy(env[name])
            except ValueError as exc:
                self.problems.append(f"{name} is ignored: {exc}")
        self.no_proxy = env.get("no_proxy", env.get("NO_PROXY", ""))

    def for_url(self, url: str, source: str | None = None) -> Proxy | None:
        """The proxy a request to ``url`` goes through; None: it goes direct."""
        name = source if source is not None else current_source()
        if name is not None and name in self.per_source:
            return self.per_source[name]
        if self.proxy is not None:
            return self.proxy
        if not self._env:
            return None
        parts = urlsplit(url)
        if bypassed(parts.hostname or "", self.no_proxy):
            return None
        return self._env.get(parts.scheme.lower()) or self._env.get("all")

    def every(self) -> list[Proxy]:
        """Every proxy a request may take (the policy allows each of them)."""
        seen: dict[str, Proxy] = {}
        for proxy in (self.proxy, *self.per_source.values(), *self._env.values()):
            if proxy is not None:
                seen.setdefault(proxy.url, proxy)
        return list(seen.values())

    def describe(self, source: str | None = None, url: str = "https://example.com/") -> str:
        """Which proxy ``source`` uses and from which setting, password masked."""
        if source is not None and source in self.per_source:
            setting = f"TUIAPP_SOURCE_{source.upper()}__PROXY"
            return f"{self.per_source[source].shown()} (from {setting})"
        if self.proxy is not None:
            return f"{self.proxy.shown()} (from TUIAPP_PROXY)"
        chosen = self.for_url(url, source="")
        if chosen is None:
            return "none (direct connections)"
        return f"{chosen.shown()} (from the proxy environment variables)"


def bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``host`` is listed in a ``no_proxy`` value, matched as curl matches it."""
    host = host.lower().strip("[]").rstrip(".")
    if not host or not no_proxy.strip():
        return False
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip(".").rstrip(".")
        if entry.startswith("[") or (":" in entry and entry.count(":") == 1):
            entry = entry.rsplit(":", 1)[0]  # a port is not compared
        if host == entry or host.endswith("." + entry):
            return True
    return False


def proxy_plan(settings: Settings) -> ProxyPlan:
    """The proxies ``settings`` name (their values were checked when the settings were read)."""
    per_source = {
        name: parse_proxy(own["proxy"])
        for name, own in settings.source_settings.items()
        if own.get("proxy")
    }
    proxy = parse_proxy(settings.proxy) if settings.proxy else None
    return ProxyPlan(proxy, per_source, settings.proxy_environ)
