"""``requests`` adapter: ``session.get(url, auth=broker.requests_auth("profile"))``.

The token goes only to the origin (scheme, host, port) of the request the caller made.
``requests`` runs the response hook registered here on every response of a redirect chain
(it copies hooks onto each redirected request), and its ``rebuild_auth`` drops
``Authorization`` when a redirect changes host, port or scheme, except for an http->https
upgrade of the same host on the default ports. The hook drops the header on any redirect
away from the caller's origin, and refreshes and retries only after a 401 from a request that
carried the token.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests
from requests.cookies import extract_cookies_to_jar

from ._tokenbroker import keeps_token, retry_with_new_token

if TYPE_CHECKING:
    from . import TTL, AccessToken, Broker, Scopes


class _Attempt:
    """One request of the caller: where its token may go, and whether it was retried."""

    def __init__(self, url: str | None, sent: AccessToken, position: int | None) -> None:
        self.url = url or ""
        self.sent = sent
        self.header = sent.header()
        self.position = position
        self.retried = False

    def owns(self, url: str | None) -> bool:
        return keeps_token(self.url, url or "")


class BearerAuth(requests.auth.AuthBase):
    """Sends the profile's access token; on a 401, refreshes it once and retries once."""

    def __init__(self, broker: Broker, profile: str, *, scopes: Scopes = None, min_ttl: TTL = None) -> None:
        self._broker = broker
        self._profile = profile
        self._scopes = scopes
        self._min_ttl = min_ttl

    def __repr__(self) -> str:
        return f"<tokenbroker BearerAuth profile={self._profile!r}>"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._broker.token(self._profile, scopes=self._scopes, min_ttl=self._min_ttl)
        r.headers["Authorization"] = token.header()
        position = None
        body: Any = r.body
        if body is not None and hasattr(body, "tell"):
            try:
                position = body.tell()
            except OSError:
                position = None
        hook = functools.partial(self._on_response, attempt=_Attempt(r.url, token, position))
        r.register_hook("response", hook)  # type: ignore[no-untyped-call]
        return r

    def _fresh_header(self, sent: AccessToken) -> str:
        # The core refreshes once for every request the API refused with the same token, and
        # hands out a newer token at once if one is already cached.
        fresh = self._broker.token(self._profile, scopes=self._scopes, min_ttl=self._min_ttl, rejected=sent)
        return fresh.header()

    def _on_response(self, r: requests.Response, *, attempt: _Attempt, **kwargs: Any) -> requests.Response:
        request = r.request
        if r.is_redirect:
            _drop_unless_same_origin(r, request, attempt)
            return r
        if not retry_with_new_token(
            r.status_code,
            attempt.url,
            request.url or "",
            carried_token=request.headers.get("Authorization") == attempt.header,
            retried=attempt.retried,
        ):
            return r  # e.g. a 401 from a request that did not carry our token says nothing about it
        body: Any = request.body
        if body is not None and hasattr(body, "read"):
            if attempt.position is None:
                return r  # a stream we cannot replay
            body.seek(attempt.position)
        attempt.retried = True
        attempt.header = self._fresh_header(attempt.sent)
        # Release the connection so the retry can reuse it.
        _ = r.content
        r.close()
        # Later redirect hops are copied from this request: they carry the fresh token too.
        request.headers["Authorization"] = attempt.header
        retry = request.copy()
        cookies = getattr(retry, "_cookies", None)
        if cookies is not None:
            extract_cookies_to_jar(cookies, request, r.raw)  # type: ignore[no-untyped-call]
            retry.prepare_cookies(cookies)
        new = r.connection.send(retry, **kwargs)
        new.history.append(r)
        new.request = retry
        if new.is_redirect:
            _drop_unless_same_origin(new, request, attempt)
        return new


def _drop_unless_same_origin(
    r: requests.Response, template: requests.PreparedRequest, attempt: _Attempt
) -> None:
    """requests builds the next hop of a redirect from a copy of ``template``."""
    if not attempt.owns(urljoin(r.url, r.headers["location"])):
        template.headers.pop("Authorization", None)
