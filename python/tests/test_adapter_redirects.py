"""The requests and httpx adapters across redirects: the token only ever goes to the origin the
caller sent the request to, and only a 401 from a request that carried it causes a refresh.

Two API servers on 127.0.0.1 (different ports, so different origins) record every request and
its Authorization header; tokens come from the test provider.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

import httpx
import pytest
import requests
from conftest import Admin

from tokenbroker import Broker


@dataclass
class ApiServer:
    """An API on 127.0.0.1: ``/redirect?status=&to=`` redirects, ``/deny`` always answers 401,
    any other path answers 401 to a header in ``refuse`` and 200 otherwise."""

    url: str = ""
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def redirect(self, status: int, to: str) -> str:
        return f"{self.url}/redirect?" + urllib.parse.urlencode({"status": status, "to": to})

    def headers_at(self, path: str, **names: str) -> list[str | None]:
        """The Authorization headers ``path`` received, each shown by its name in ``names``
        (so that a failing assertion never prints a token), ``None`` when absent."""
        with self.lock:
            return [_named(auth, names) for p, auth in self.seen if p == path]

    def all_headers(self, **names: str) -> list[str | None]:
        with self.lock:
            return [_named(auth, names) for _, auth in self.seen]


def _named(header: str | None, names: dict[str, str]) -> str | None:
    if header is None:
        return None
    return next((name for name, value in names.items() if value == header), "another token")


def _handler(api: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            url = urllib.parse.urlsplit(self.path)
            auth = self.headers.get("authorization")
            with api.lock:
                api.seen.append((url.path, auth))
            if url.path == "/redirect":
                query = urllib.parse.parse_qs(url.query)
                self.send_response(int(query["status"][0]))
                self.send_header("location", query["to"][0])
            elif url.path == "/deny" or auth in api.refuse:
                self.send_response(401)
                self.send_header("www-authenticate", 'Bearer error="invalid_token"')
            else:
                self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

    return Handler


@pytest.fixture()
def apis() -> Iterator[tuple[ApiServer, ApiServer]]:
    """Two API servers, A and B, on different ports of 127.0.0.1."""
    servers, made = [], []
    for _ in range(2):
        api = ApiServer()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
        api.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        made.append(api)
    try:
        yield made[0], made[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


Send = Callable[[Broker, str, str, Optional[bytes]], int]


def via_requests(broker: Broker, method: str, url: str, body: bytes | None) -> int:
    with requests.Session() as session:
        return session.request(method, url, data=body, auth=broker.requests_auth("p")).status_code


def via_httpx(broker: Broker, method: str, url: str, body: bytes | None) -> int:
    with httpx.Client(auth=broker.httpx_auth("p"), follow_redirects=True) as client:
        return client.request(method, url, content=body).status_code


def via_httpx_async(broker: Broker, method: str, url: str, body: bytes | None) -> int:
    async def main() -> int:
        async with httpx.AsyncClient(auth=broker.httpx_auth("p"), follow_redirects=True) as client:
            return (await client.request(method, url, content=body)).status_code

    return asyncio.run(main())


ADAPTERS: dict[str, Send] = {"requests": via_requests, "httpx": via_httpx, "httpx_async": via_httpx_async}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(("status", "method"), [(302, "GET"), (307, "POST")])
def test_adapter_redirect_to_another_origin_that_answers_401(
    adapter: str, status: int, method: str, alvys: Any, admin: Admin, apis: tuple[ApiServer, ApiServer]
) -> None:
    a, b = apis
    config, client_id, _ = alvys()
    broker = Broker(config)
    sent = broker.token("p").header()
    body = b"payload" if method == "POST" else None
    assert ADAPTERS[adapter](broker, method, a.redirect(status, f"{b.url}/deny"), body) == 401
    assert b.all_headers() and all(h is None for h in b.all_headers())  # reached, never with a token
    assert a.all_headers(sent=sent) == ["sent"]  # no retry: the 401 did not refuse our token
    assert admin.requests_by(client_id) == 1  # and no refresh


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_redirect_through_another_origin_and_back(
    adapter: str, alvys: Any, admin: Admin, apis: tuple[ApiServer, ApiServer]
) -> None:
    a, b = apis
    config, client_id, _ = alvys()
    broker = Broker(config)
    sent = broker.token("p").header()
    url = a.redirect(302, b.redirect(302, f"{a.url}/deny"))
    assert ADAPTERS[adapter](broker, "GET", url, None) == 401
    assert b.all_headers() == [None]
    assert a.headers_at("/redirect", sent=sent) == ["sent"]
    assert a.headers_at("/deny") == [None]  # the token was dropped for good at the first hop
    assert admin.requests_by(client_id) == 1


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_same_origin_redirect_keeps_the_token_and_retries_once(
    adapter: str, alvys: Any, admin: Admin, apis: tuple[ApiServer, ApiServer]
) -> None:
    a, _ = apis
    config, client_id, _ = alvys()
    broker = Broker(config)
    first = broker.token("p").header()
    url = a.redirect(302, f"{a.url}/ok")
    assert ADAPTERS[adapter](broker, "GET", url, None) == 200
    assert a.headers_at("/ok", first=first) == ["first"]

    a.refuse.add(first)  # the API now refuses the token behind the redirect
    assert ADAPTERS[adapter](broker, "GET", url, None) == 200
    fresh = broker.token("p").header()
    refreshed = fresh != first
    assert refreshed
    assert a.headers_at("/ok", first=first, fresh=fresh) == ["first", "first", "fresh"]
    assert admin.requests_by(client_id) == 2

    # A target on the same origin that refuses every token: one refresh, one retry, then the 401.
    assert ADAPTERS[adapter](broker, "GET", a.redirect(302, f"{a.url}/deny"), None) == 401
    newest = broker.token("p").header()
    assert a.headers_at("/deny", fresh=fresh, newest=newest) == ["fresh", "newest"]
    refreshed = newest != fresh
    assert refreshed
    assert admin.requests_by(client_id) == 3
