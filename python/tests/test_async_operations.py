"""The ``_async`` operations against real servers: they never block the event loop, their
callbacks run on the loop's thread, and a callback's exception is what the await raises."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import Admin, memory_config
from test_login import drive, web_broker

from tokenbroker import AccessToken, Broker, DeviceCode, InteractionError, PendingLogin, RegisteredClient

T = TypeVar("T")


async def ticking(awaitable: Awaitable[T]) -> tuple[T, int]:
    """Awaits ``awaitable`` while another coroutine counts its turns on the loop."""
    ticks = 0
    stop = False

    async def ticker() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.ensure_future(ticker())
    try:
        return await awaitable, ticks
    finally:
        stop = True
        await task


def device_broker(issuer: str) -> Broker:
    return Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "dev": {
                    "provider": "oidc",
                    "issuer": issuer,
                    "grant": "device_code",
                    "client_id": "oidc-basic",
                    "client_secret": "oidc-basic-secret",
                    "scopes": ["openid", "api:read"],
                }
            },
        }
    )


def test_device_login_async_polls_without_blocking_the_loop(issuer: str) -> None:
    broker = device_broker(issuer)
    seen: list[tuple[DeviceCode, bool]] = []

    def on_code(code: DeviceCode) -> None:
        seen.append((code, threading.current_thread() is threading.main_thread()))
        assert code.verification_uri_complete
        threading.Thread(target=drive, args=(code.verification_uri_complete,), daemon=True).start()

    async def main() -> tuple[AccessToken, int]:
        return await ticking(broker.device_login_async("dev", on_code=on_code))

    token, ticks = asyncio.run(main())
    assert isinstance(token, AccessToken) and token.access_token
    # The provider's poll interval is at least a second: the loop kept turning meanwhile.
    assert ticks >= 20
    assert len(seen) == 1 and seen[0][1], "on_code runs once, on the event loop's thread"
    assert broker.cached_token("dev") is not None


class Refused(Exception):
    pass


def test_an_exception_in_on_code_is_what_device_login_raises(issuer: str) -> None:
    broker = device_broker(issuer)

    def on_code(code: DeviceCode) -> None:
        raise Refused(code.user_code)

    with pytest.raises(Refused):
        broker.device_login("dev", on_code=on_code)

    async def main() -> None:
        with pytest.raises(Refused):
            await broker.device_login_async("dev", on_code=on_code)

    asyncio.run(main())


def test_login_async_with_on_url_then_logout_async(issuer: str) -> None:
    broker = web_broker(issuer)
    seen: list[str] = []

    def on_url(url: str) -> None:
        seen.append(url)
        threading.Thread(target=drive, args=(url, "--follow"), daemon=True).start()

    async def main() -> None:
        token, ticks = await ticking(broker.login_async("web", open_browser=False, timeout=30, on_url=on_url))
        assert token.access_token and ticks > 0
        assert len(seen) == 1 and "code_challenge=" in seen[0]
        refreshed = await broker.token_async("web", force_refresh=True)
        assert refreshed.access_token != token.access_token
        assert await broker.logout_async("web") is True
        assert broker.cached_token("web") is None

    asyncio.run(main())


def test_an_exception_in_on_url_is_what_login_async_raises(issuer: str) -> None:
    broker = web_broker(issuer)

    def on_url(url: str) -> None:
        raise Refused("no browser here")

    async def main() -> None:
        with pytest.raises(Refused, match="no browser here"):
            await broker.login_async("web", open_browser=False, timeout=30, on_url=on_url)

    asyncio.run(main())
    with pytest.raises(Refused, match="no browser here"):
        broker.login("web", open_browser=False, timeout=30, on_url=on_url)


def test_login_async_times_out_as_an_interaction_error(issuer: str) -> None:
    broker = web_broker(issuer)

    async def main() -> None:
        with pytest.raises(InteractionError):
            await broker.login_async("web", open_browser=False, timeout=0.5, on_url=lambda url: None)

    asyncio.run(main())


def test_begin_and_complete_login_async_then_forget_async(issuer: str) -> None:
    broker = web_broker(issuer)

    async def main() -> None:
        pending = await broker.begin_login_async("web", "http://127.0.0.1/callback")
        assert isinstance(pending, PendingLogin) and pending.state in pending.url
        redirect = await asyncio.get_running_loop().run_in_executor(None, drive, pending.url)
        token = await broker.complete_login_async(pending, redirect)
        assert token.access_token and broker.cached_token("web") is not None
        with pytest.raises(InteractionError, match="state"):
            await broker.complete_login_async(pending, redirect.replace(pending.state, "forged"))
        with pytest.raises(InteractionError):
            await broker.complete_login_form_async(pending, b"code=x&state=forged")
        await broker.forget_async("web")
        assert broker.cached_token("web") is None

    asyncio.run(main())


def test_client_registration_async(issuer: str) -> None:
    broker = Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "reg": {"provider": "oidc", "issuer": issuer, "client_id": "unused", "client_secret": "x"}
            },
        }
    )
    name = f"py-async-{secrets.token_hex(4)}"

    async def main() -> None:
        client = await broker.register_client_async(
            "reg",
            {"client_name": name, "grant_types": ["client_credentials"], "response_types": []},
        )
        assert isinstance(client, RegisteredClient) and client.client_secret
        read = await broker.read_client_async("reg", client.client_id)
        assert read.client_id == client.client_id
        updated = await broker.update_client_async(
            "reg", client.client_id, dict(read.metadata, client_name=name + "-renamed")
        )
        assert updated.metadata["client_name"] == name + "-renamed"
        await broker.delete_client_async("reg", client.client_id)

    asyncio.run(main())


def test_cache_entries_async_and_clear_cache_async(alvys: Any, tmp_path: Path) -> None:
    config, _, secret = alvys()
    config["cache"] = {"store": "file", "path": str(tmp_path / "cache")}
    broker = Broker(config)

    async def main() -> None:
        token = await broker.token_async("p")
        entries = await broker.cache_entries_async()
        assert entries == broker.cache_entries() and len(entries) == 1
        assert token.access_token not in repr(entries) and secret not in repr(entries)
        await broker.clear_cache_async()
        assert await broker.cache_entries_async() == []
        assert broker.cached_token("p") is None

    asyncio.run(main())


def test_list_clients_async_fails_like_list_clients(issuer: str) -> None:
    broker = web_broker(issuer)
    with pytest.raises(Exception) as blocking:
        broker.list_clients("web")

    async def main() -> BaseException:
        with pytest.raises(Exception) as info:
            await broker.list_clients_async("web")
        return info.value

    error = asyncio.run(main())
    assert type(error) is type(blocking.value) and str(error) == str(blocking.value)


def generic_device_broker(admin: Admin, provider: str) -> tuple[Broker, str]:
    """A device-flow profile at the test provider, with a client of its own (so its request
    count is this test's)."""
    client_id, secret = admin.new_client("device")
    profile = {
        "provider": "oidc",
        "client_id": client_id,
        "client_secret": secret,
        "token_url": f"{provider}/generic/token",
        "device_url": f"{provider}/generic/device",
        "grant": "device_code",
    }
    return Broker(memory_config(profile, "dev")), client_id


def assert_no_more_polls(admin: Admin) -> None:
    """The provider's poll interval is a second: a sign-in still running polls within 2.5 s.
    (The provider counts device polls per route, not per client.)"""
    before = admin.route("generic.token")
    time.sleep(2.5)
    assert admin.route("generic.token") == before, "the sign-in kept polling"


def test_an_exception_in_on_code_stops_the_polling(admin: Admin, provider: str) -> None:
    broker, _ = generic_device_broker(admin, provider)

    def on_code(code: DeviceCode) -> None:
        raise Refused(code.user_code)

    with pytest.raises(Refused):
        broker.device_login("dev", on_code=on_code)
    assert_no_more_polls(admin)

    broker, _ = generic_device_broker(admin, provider)

    async def main() -> None:
        with pytest.raises(Refused):
            await broker.device_login_async("dev", on_code=on_code)

    asyncio.run(main())
    assert_no_more_polls(admin)


def test_cancelling_device_login_async_stops_the_polling(admin: Admin, provider: str) -> None:
    broker, _ = generic_device_broker(admin, provider)

    async def main() -> None:
        shown = asyncio.Event()
        task = asyncio.ensure_future(broker.device_login_async("dev", on_code=lambda code: shown.set()))
        await shown.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert_no_more_polls(admin)


def test_stop_iteration_in_on_code_still_settles_the_await(admin: Admin, provider: str) -> None:
    """asyncio refuses StopIteration as a future's exception: it arrives as a RuntimeError
    (as asyncio does for a coroutine), instead of leaving the await hanging."""
    broker, _ = generic_device_broker(admin, provider)

    def on_code(code: DeviceCode) -> None:
        raise StopIteration

    async def main() -> None:
        with pytest.raises(RuntimeError) as info:
            await asyncio.wait_for(broker.device_login_async("dev", on_code=on_code), 30)
        assert isinstance(info.value.__cause__, StopIteration)

    asyncio.run(main())
