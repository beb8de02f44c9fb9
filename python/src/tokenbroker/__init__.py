"""tokenbroker: OAuth 2.0 access tokens for every profile, fetched once and cached.

>>> from tokenbroker import Broker
>>> with Broker.from_config() as broker:                      # doctest: +SKIP
...     token = broker.token("aos")
...     requests.get(url, auth=broker.requests_auth("aos"))

Every piece of OAuth and caching logic lives in the Rust core; this package converts types,
maps errors to the exceptions below, forwards the core's log events to the ``tokenbroker``
logger, and adapts tokens to ``requests`` and ``httpx``.
"""

import os
import sys

from . import _errors, _tokenbroker
from ._errors import (
    CacheError,
    ConfigError,
    InteractionError,
    InvalidResponseError,
    OAuthError,
    ProviderTimeoutError,
    RateLimitedError,
    RegistrationError,
    TokenBrokerError,
    TransportError,
)
from ._tokenbroker import (
    AccessToken,
    BrokerBase,
    DeviceCode,
    PendingLogin,
    RegisteredClient,
    __version__,
)

# Not `typing.TYPE_CHECKING`: importing `typing` (and `datetime`, `collections.abc`) would
# cost a new process more than the rest of `import tokenbroker`, for names only type checkers
# read. mypy takes any `TYPE_CHECKING` as true. Annotations naming them are strings, not
# `from __future__ import annotations`, which imports `__future__` at run time (about 0.3 ms).
# Python evaluates the others (`str`, `None`) as it defines each function.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Sequence
    from datetime import timedelta
    from types import TracebackType
    from typing import Union

    import httpx
    import requests
    from typing_extensions import Self

    Scopes = Union[str, Sequence[str], None]
    TTL = Union[float, timedelta, None]

__all__ = [
    "AccessToken",
    "Broker",
    "CacheError",
    "ConfigError",
    "DeviceCode",
    "InteractionError",
    "InvalidResponseError",
    "OAuthError",
    "PendingLogin",
    "ProviderTimeoutError",
    "RateLimitedError",
    "RegisteredClient",
    "RegistrationError",
    "TokenBrokerError",
    "TransportError",
    "__version__",
]


class Broker(BrokerBase):
    """Answers ``token(profile)`` with a valid access token, fetching at most once per key
    however many threads, tasks or processes ask at the same time.

    ``Broker(config)`` takes a dict shaped like the TOML config file;
    ``Broker(config_file=path)`` or ``Broker.from_config(path)`` reads that file;
    ``Broker()`` finds it (``$TOKENBROKER_CONFIG``, then ``~/.config/tokenbroker/config.toml``).
    Usable as a context manager: leaving the block closes the broker.
    """

    __slots__ = ()

    @classmethod
    def from_config(cls, path: "str | os.PathLike[str] | None" = None) -> "Self":
        """A broker over the config file at ``path``, or the one found by default."""
        return cls(config_file=path)

    def __enter__(self) -> "Self":
        return self

    def __exit__(
        self,
        exc_type: "type[BaseException] | None",
        exc: "BaseException | None",
        tb: "TracebackType | None",
    ) -> None:
        self.close()

    def login(
        self,
        profile: str,
        *,
        open_browser: bool = True,
        timeout: "TTL" = 300,
        scopes: "Scopes" = None,
        on_url: "Callable[[str], object] | None" = None,
    ) -> "AccessToken":
        """Signs in with the authorization code flow (PKCE) through a loopback listener on
        127.0.0.1. ``on_url(url)`` is told the authorization URL (default: print it to
        stderr); the system browser is opened unless ``open_browser=False``. ``timeout``
        (seconds or a timedelta) bounds the wait for the browser. The refresh token is stored,
        so later ``token()`` calls refresh silently. An exception from ``on_url`` stops the
        sign-in and is raised here."""
        return super().login(
            profile,
            open_browser=open_browser,
            timeout=timeout,
            scopes=scopes,
            on_url=_print_url if on_url is None else on_url,
        )

    def login_async(
        self,
        profile: str,
        *,
        open_browser: bool = True,
        timeout: "TTL" = 300,
        scopes: "Scopes" = None,
        on_url: "Callable[[str], object] | None" = None,
    ) -> "asyncio.Future[AccessToken]":
        """Like ``login()``, for asyncio: the loop keeps running while the browser step
        happens. ``on_url`` is called on the event loop's thread; cancelling the await stops
        the sign-in."""
        return super().login_async(
            profile,
            open_browser=open_browser,
            timeout=timeout,
            scopes=scopes,
            on_url=_print_url if on_url is None else on_url,
        )

    def device_login(
        self,
        profile: str,
        *,
        scopes: "Scopes" = None,
        on_code: "Callable[[DeviceCode], object] | None" = None,
        timeout: "TTL" = None,
    ) -> "AccessToken":
        """Signs in with the device flow (RFC 8628). ``on_code(DeviceCode)`` shows the user
        what to do (default: print it to stderr); the provider is then polled until the
        user approves, denies, the code expires or ``timeout`` (seconds or a timedelta;
        default: until the code expires) passes. An exception from ``on_code`` stops the
        polling and is raised here."""
        return super().device_login(
            profile, scopes=scopes, on_code=_print_code if on_code is None else on_code, timeout=timeout
        )

    def device_login_async(
        self,
        profile: str,
        *,
        scopes: "Scopes" = None,
        on_code: "Callable[[DeviceCode], object] | None" = None,
        timeout: "TTL" = None,
    ) -> "asyncio.Future[AccessToken]":
        """Like ``device_login()``, for asyncio: the loop keeps running while the provider is
        polled. ``on_code`` is called on the event loop's thread; cancelling the await stops
        the polling."""
        return super().device_login_async(
            profile, scopes=scopes, on_code=_print_code if on_code is None else on_code, timeout=timeout
        )

    def requests_auth(
        self, profile: str, *, scopes: "Scopes" = None, min_ttl: "TTL" = None
    ) -> "requests.auth.AuthBase":
        """A ``requests`` auth that sends ``profile``'s token; on a 401 it refreshes the
        token once and retries the request once."""
        from ._requests import BearerAuth

        return BearerAuth(self, profile, scopes=scopes, min_ttl=min_ttl)

    def httpx_auth(self, profile: str, *, scopes: "Scopes" = None, min_ttl: "TTL" = None) -> "httpx.Auth":
        """An ``httpx.Auth`` (sync and async clients) that sends ``profile``'s token; on a 401
        it refreshes the token once and retries the request once."""
        from ._httpx import BearerAuth

        return BearerAuth(self, profile, scopes=scopes, min_ttl=min_ttl)


def _print_url(url: str) -> None:
    print(f"To sign in, open this URL in a browser:\n  {url}", file=sys.stderr, flush=True)


def _print_code(code: "DeviceCode") -> None:
    where = code.verification_uri_complete or code.verification_uri
    print(
        f"To sign in, open {where} and enter the code {code.user_code}",
        file=sys.stderr,
        flush=True,
    )


for _cls in (TokenBrokerError, *_errors.BY_KIND.values()):
    _cls.__module__ = __name__
del _cls


def _install_fork_hooks() -> None:
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_tokenbroker._before_fork,
            after_in_parent=_tokenbroker._after_fork_parent,
            after_in_child=_tokenbroker._after_fork_child,
        )


_install_fork_hooks()
