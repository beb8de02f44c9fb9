"""``httpx`` adapter: ``httpx.Client(auth=broker.httpx_auth("profile"))``, sync and async.

httpx runs the auth flow around the whole redirect chain: the flow sets the header on the
caller's request and gets back the last response of the chain. httpx itself drops
``Authorization`` on every redirect to another origin (scheme, host, port) except an
http->https upgrade of the same host on the default ports. The flow refreshes and re-sends the
caller's request only when the 401 answered a request that carried the token to the caller's
origin; a 401 from anywhere else is returned as it is.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING

import httpx

from ._tokenbroker import retry_with_new_token

if TYPE_CHECKING:
    from . import TTL, Broker, Scopes


def _refused_our_token(request: httpx.Request, response: httpx.Response) -> bool:
    """The core's rule: a first 401 at the caller's origin to a request that carried the token."""
    answered = response.request
    return retry_with_new_token(
        response.status_code,
        str(request.url),
        str(answered.url),
        carried_token=answered.headers.get("Authorization") == request.headers["Authorization"],
        retried=False,
    )


class BearerAuth(httpx.Auth):
    """Sends the profile's access token; on a 401, refreshes it once and retries once.

    The async flow awaits ``Broker.token_async`` and never blocks the event loop.
    """

    # The request is sent a second time after a 401, so both flows read its body first.
    requires_request_body = True

    def __init__(self, broker: Broker, profile: str, *, scopes: Scopes = None, min_ttl: TTL = None) -> None:
        self._broker = broker
        self._profile = profile
        self._scopes = scopes
        self._min_ttl = min_ttl

    def __repr__(self) -> str:
        return f"<tokenbroker httpx BearerAuth profile={self._profile!r}>"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        b, p, s, t = self._broker, self._profile, self._scopes, self._min_ttl
        token = b.token(p, scopes=s, min_ttl=t)
        request.headers["Authorization"] = token.header()
        response = yield request
        if not _refused_our_token(request, response):
            return
        current = b.token(p, scopes=s, min_ttl=t, rejected=token)
        request.headers["Authorization"] = current.header()
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        b, p, s, t = self._broker, self._profile, self._scopes, self._min_ttl
        token = await b.token_async(p, scopes=s, min_ttl=t)
        request.headers["Authorization"] = token.header()
        response = yield request
        if not _refused_our_token(request, response):
            return
        current = await b.token_async(p, scopes=s, min_ttl=t, rejected=token)
        request.headers["Authorization"] = current.header()
        yield request
