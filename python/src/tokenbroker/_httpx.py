"""``httpx`` adapter: ``httpx.Client(auth=broker.httpx_auth("profile"))``, sync and async."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from . import TTL, Broker, Scopes


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
        if response.status_code != 401:
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
        if response.status_code != 401:
            return
        current = await b.token_async(p, scopes=s, min_ttl=t, rejected=token)
        request.headers["Authorization"] = current.header()
        yield request
