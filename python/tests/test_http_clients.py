"""requests and httpx (sync and async) against the provider's protected resource /api/me."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import requests
from conftest import Admin

from tokenbroker import Broker


def test_requests_sends_the_bearer(alvys: Any, admin: Admin, provider: str) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    with requests.Session() as session:
        resp = session.get(f"{provider}/api/me", auth=broker.requests_auth("p"))
        assert resp.status_code == 200, resp.text
        assert resp.json()["client_id"] == client_id
        resp = session.post(f"{provider}/api/items", json={"a": 1}, auth=broker.requests_auth("p"))
        assert resp.status_code == 200
    assert admin.requests_by(client_id) == 1


def test_requests_refreshes_once_after_a_401(alvys: Any, admin: Admin, provider: str) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    stale = broker.token("p")
    admin.call("tokens/expire", {"access_token": stale.access_token})
    with requests.Session() as session:
        resp = session.post(f"{provider}/api/me", data=b"payload", auth=broker.requests_auth("p"))
    assert resp.status_code == 200, resp.text
    assert [r.status_code for r in resp.history] == [401]
    assert resp.request.headers["Authorization"] != f"Bearer {stale.access_token}"
    assert broker.token("p").access_token != stale.access_token
    assert admin.requests_by(client_id) == 2


def test_requests_retries_only_once(alvys: Any, admin: Admin, provider: str) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    admin.fault(route="resource", kind="status", status=401, count=2)
    resp = requests.get(f"{provider}/api/me", auth=broker.requests_auth("p"))
    assert resp.status_code == 401
    assert len(resp.history) == 1
    assert admin.requests_by(client_id) == 2  # the first fetch and one forced refresh


def test_httpx_sync_with_refresh_after_401(alvys: Any, admin: Admin, provider: str) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    with httpx.Client(auth=broker.httpx_auth("p")) as client:
        assert client.get(f"{provider}/api/me").json()["client_id"] == client_id
        stale = broker.token("p")
        admin.call("tokens/expire", {"access_token": stale.access_token})
        resp = client.put(f"{provider}/api/me", content=b"body")
        assert resp.status_code == 200
        assert [r.status_code for r in resp.history] == [401]
    assert admin.requests_by(client_id) == 2


def test_httpx_async_with_refresh_after_401(alvys: Any, admin: Admin, provider: str) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)

    async def main() -> None:
        async with httpx.AsyncClient(auth=broker.httpx_auth("p")) as client:
            results = await asyncio.gather(*(client.get(f"{provider}/api/me") for _ in range(10)))
            assert all(r.json()["client_id"] == client_id for r in results)
            stale = broker.token("p")
            admin.call("tokens/expire", {"access_token": stale.access_token})
            resp = await client.get(f"{provider}/api/me")
            assert resp.status_code == 200
            assert [r.status_code for r in resp.history] == [401]

    asyncio.run(main())
    assert admin.requests_by(client_id) == 2
