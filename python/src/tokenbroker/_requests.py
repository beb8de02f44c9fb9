"""``requests`` adapter: ``session.get(url, auth=broker.requests_auth("profile"))``."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import requests
from requests.cookies import extract_cookies_to_jar

if TYPE_CHECKING:
    from . import TTL, AccessToken, Broker, Scopes

_RETRIED = "_tokenbroker_retried"


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
        hook = functools.partial(self._on_response, sent=token, position=position)
        r.register_hook("response", hook)  # type: ignore[no-untyped-call]
        return r

    def _fresh_header(self, sent: AccessToken) -> str:
        # The core refreshes once for every request the API refused with the same token, and
        # hands out a newer token at once if one is already cached.
        fresh = self._broker.token(self._profile, scopes=self._scopes, min_ttl=self._min_ttl, rejected=sent)
        return fresh.header()

    def _on_response(
        self, r: requests.Response, *, sent: AccessToken, position: int | None, **kwargs: Any
    ) -> requests.Response:
        if r.status_code != 401 or getattr(r.request, _RETRIED, False):
            return r
        body: Any = r.request.body
        if body is not None and hasattr(body, "read"):
            if position is None:
                return r  # a stream we cannot replay
            body.seek(position)
        header = self._fresh_header(sent)
        # Release the connection so the retry can reuse it.
        _ = r.content
        r.close()
        retry = r.request.copy()
        cookies = getattr(retry, "_cookies", None)
        if cookies is not None:
            extract_cookies_to_jar(cookies, r.request, r.raw)  # type: ignore[no-untyped-call]
            retry.prepare_cookies(cookies)
        retry.headers["Authorization"] = header
        setattr(retry, _RETRIED, True)
        adapter = r.connection
        new = adapter.send(retry, **kwargs)
        new.history.append(r)
        new.request = retry
        return new
