"""Exception classes, one per core error kind.

The native module raises these by kind (``BY_KIND``, one class for each of the core's
``ERROR_KINDS``); messages are the core's, which never contain a secret.
"""

from ._tokenbroker import ERROR_KINDS

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`, and string annotations: see __init__.py
if TYPE_CHECKING:
    from typing import ClassVar

__all__ = [
    "BY_KIND",
    "CacheError",
    "ConfigError",
    "InteractionError",
    "InvalidResponseError",
    "OAuthError",
    "ProviderTimeoutError",
    "RateLimitedError",
    "RegistrationError",
    "TokenBrokerError",
    "TransportError",
]


class TokenBrokerError(Exception):
    """Base class of every tokenbroker error.

    ``kind`` is the core's stable error kind (``"config"``, ``"oauth"``, …); ``status`` is the
    HTTP status the server answered with, when there was one; ``retry_after`` the seconds the
    server asked to wait (``Retry-After``), when it did.
    """

    kind: "ClassVar[str]" = "unknown"
    status: "int | None"
    retry_after: "int | None"

    def __init__(
        self,
        message: str,
        *,
        kind: "str | None" = None,
        status: "int | None" = None,
        retry_after: "int | None" = None,
    ) -> None:
        super().__init__(message)
        if kind is not None and kind != type(self).kind:
            # A kind newer than this package: keep it on the instance.
            self.kind = kind  # type: ignore[misc]
        self.status = status
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(TokenBrokerError):
    """The configuration or a call's arguments are wrong; nothing was sent."""

    kind = "config"


class TransportError(TokenBrokerError):
    """The provider could not be reached (DNS, TCP, TLS, connection reset)."""

    kind = "transport"


class ProviderTimeoutError(TokenBrokerError):
    """The provider did not answer in time."""

    kind = "timeout"


class OAuthError(TokenBrokerError):
    """The provider answered with an OAuth error (RFC 6749 §5.2).

    ``error`` is the OAuth error code (``invalid_client``…), ``description`` the
    ``error_description``, ``uri`` the ``error_uri``, ``provider_codes`` provider-specific codes
    (Azure AD's ``AADSTS…`` numbers).
    """

    kind = "oauth"
    error: str
    description: "str | None"
    uri: "str | None"
    provider_codes: "list[int]"

    def __init__(
        self,
        message: str,
        *,
        kind: "str | None" = None,
        status: "int | None" = None,
        retry_after: "int | None" = None,
        error: str = "",
        description: "str | None" = None,
        uri: "str | None" = None,
        provider_codes: "list[int] | None" = None,
    ) -> None:
        super().__init__(message, kind=kind, status=status, retry_after=retry_after)
        self.error = error
        self.description = description
        self.uri = uri
        self.provider_codes = list(provider_codes or [])


class InvalidResponseError(TokenBrokerError):
    """The provider's answer was unusable (not JSON, empty, too big, missing fields)."""

    kind = "invalid_response"


class CacheError(TokenBrokerError):
    """The token cache or secret store failed."""

    kind = "cache"


class RegistrationError(TokenBrokerError):
    """Client registration or management failed."""

    kind = "registration"


class InteractionError(TokenBrokerError):
    """An interactive step failed (browser redirect, state mismatch, denied, expired code)."""

    kind = "interaction"


class RateLimitedError(TokenBrokerError):
    """The provider answered 429/503 with a ``Retry-After`` longer than the call's deadline
    allows; ``retry_after`` holds the seconds it asked for. Nothing was retried early."""

    kind = "rate_limited"


def _by_kind() -> "dict[str, type[TokenBrokerError]]":
    """One class per kind the core reports (``_tokenbroker.ERROR_KINDS``): the classes above,
    and a plain ``TokenBrokerError`` subclass for a kind this module has no class for yet."""
    classes: dict[str, type[TokenBrokerError]] = {
        cls.kind: cls
        for cls in (
            ConfigError,
            TransportError,
            ProviderTimeoutError,
            OAuthError,
            InvalidResponseError,
            CacheError,
            RegistrationError,
            InteractionError,
            RateLimitedError,
        )
    }
    for kind in ERROR_KINDS:
        if kind not in classes:
            classes[kind] = _bare_class(kind)
    return classes


def _bare_class(kind: str) -> "type[TokenBrokerError]":
    """A plain subclass for a core kind this module has no class for (``"new_kind"`` →
    ``NewKindError``)."""

    class Bare(TokenBrokerError):
        pass

    Bare.kind = kind
    Bare.__name__ = Bare.__qualname__ = "".join(p.title() for p in kind.split("_")) + "Error"
    Bare.__doc__ = f"The core's ``{kind}`` errors."
    return Bare


BY_KIND: "dict[str, type[TokenBrokerError]]" = _by_kind()
