"""Interactive sign-in (browser played by tests/oidc/drive_login.mjs), logout, registration."""

from __future__ import annotations

import secrets
import subprocess
import threading
from typing import Any

import pytest
from conftest import REPO

from tokenbroker import Broker, DeviceCode, InteractionError, PendingLogin, RegisteredClient

DRIVE = str(REPO / "tests/oidc/drive_login.mjs")


def drive(url: str, *args: str) -> str:
    out = subprocess.run(["node", DRIVE, *args, url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def web_broker(issuer: str, **extra: Any) -> Broker:
    return Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "web": {
                    "provider": "oidc",
                    "issuer": issuer,
                    "grant": "authorization_code",
                    "client_id": "oidc-web",
                    "client_secret": "oidc-web-secret",
                    "redirect_uri": "http://127.0.0.1/callback",
                    "scopes": ["openid", "api:read"],
                    **extra,
                }
            },
        }
    )


def test_login_through_the_loopback_listener_then_refresh_and_logout(issuer: str) -> None:
    broker = web_broker(issuer)
    seen: list[str] = []

    def on_url(url: str) -> None:
        # Called on the waiting thread while the core listens: play the browser meanwhile.
        seen.append(url)
        threading.Thread(target=drive, args=(url, "--follow"), daemon=True).start()

    first = broker.login("web", open_browser=False, timeout=30, on_url=on_url)
    assert len(seen) == 1 and seen[0].startswith(issuer)
    assert "code_challenge=" in seen[0]
    assert broker.token("web").access_token == first.access_token
    # The stored refresh token works: a forced refresh succeeds without a browser.
    refreshed = broker.token("web", force_refresh=True)
    assert refreshed.access_token != first.access_token
    assert broker.logout("web") is True
    assert broker.cached_token("web") is None


def test_login_synchronous_on_url_callback_also_works(issuer: str) -> None:
    """A callback that blocks until the browser is done must not stall the core."""
    broker = web_broker(issuer)
    token = broker.login("web", open_browser=False, timeout=30, on_url=lambda url: drive(url, "--follow"))
    assert token.access_token


def test_login_times_out_as_an_interaction_error(issuer: str) -> None:
    broker = web_broker(issuer)
    with pytest.raises(InteractionError):
        broker.login("web", open_browser=False, timeout=0.5, on_url=lambda url: None)


def test_begin_and_complete_login(issuer: str) -> None:
    broker = web_broker(issuer)
    pending = broker.begin_login("web", "http://127.0.0.1/callback")
    assert isinstance(pending, PendingLogin)
    assert pending.profile == "web" and pending.state in pending.url
    redirect = drive(pending.url)
    assert redirect.startswith("http://127.0.0.1/callback?")
    token = broker.complete_login(pending, redirect)
    assert token.access_token and broker.cached_token("web") is not None
    # The code is single use and the state is checked.
    with pytest.raises(InteractionError, match="state"):
        broker.complete_login(pending, redirect.replace(pending.state, "forged"))


def test_device_login(issuer: str) -> None:
    broker = Broker(
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
    codes: list[DeviceCode] = []

    def on_code(code: DeviceCode) -> None:
        codes.append(code)
        assert code.verification_uri_complete
        threading.Thread(target=drive, args=(code.verification_uri_complete,), daemon=True).start()

    token = broker.device_login("dev", on_code=on_code)
    assert token.access_token
    assert len(codes) == 1 and codes[0].user_code and codes[0].interval >= 1
    assert codes[0].user_code in repr(codes[0])


def test_register_read_update_delete_client(issuer: str) -> None:
    broker = Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "reg": {"provider": "oidc", "issuer": issuer, "client_id": "unused", "client_secret": "x"}
            },
        }
    )
    name = f"py-test-{secrets.token_hex(4)}"
    client = broker.register_client(
        "reg",
        {
            "client_name": name,
            "grant_types": ["client_credentials"],
            "response_types": [],
            "scope": "api:read",
        },
    )
    assert isinstance(client, RegisteredClient)
    assert client.client_secret and client.client_id
    assert client.client_secret not in repr(client)
    assert "client_secret" not in client.to_dict()
    assert client.to_dict(include_secrets=True)["client_secret"] == client.client_secret
    assert client.metadata["client_name"] == name
    # The new client can get tokens right away.
    user = Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "p": {
                    "provider": "oidc",
                    "issuer": issuer,
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "scopes": ["api:read"],
                }
            },
        }
    )
    assert user.token("p").access_token
    read = broker.read_client("reg", client.client_id)
    assert read.client_id == client.client_id
    metadata = dict(read.metadata, client_name=name + "-renamed")
    updated = broker.update_client("reg", client.client_id, metadata)
    assert updated.metadata["client_name"] == name + "-renamed"
    broker.delete_client("reg", client.client_id)


def test_azure_ad_v1_login_with_form_post_and_code_id_token(provider: str) -> None:
    # Seed 004: the authorization code and ID token come back as a form POST to the
    # loopback listener; the ID token is checked against the provider's JWKS and nonce.
    broker = Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "pc": {
                    "provider": "azure-ad-v1",
                    "tenant": "contoso",
                    "resource": "https://api.partnercenter.microsoft.com",
                    "client_id": "azure-client",
                    "client_secret": "azure-secret",
                    "token_url": f"{provider}/contoso/oauth2/token",
                    "authorize_url": f"{provider}/contoso/oauth2/authorize",
                    "jwks_url": f"{provider}/contoso/discovery/keys",
                    "issuer": f"{provider}/contoso/",
                }
            },
        }
    )
    seen: list[str] = []

    def on_url(url: str) -> None:
        seen.append(url)
        threading.Thread(target=drive, args=(url, "--follow"), daemon=True).start()

    token = broker.login("pc", open_browser=False, timeout=30, on_url=on_url)
    assert "response_mode=form_post" in seen[0]
    assert "response_type=code+id_token" in seen[0] or "response_type=code%20id_token" in seen[0]
    assert token.expires_in > 3500  # expires_in arrived as a string
    refreshed = broker.token("pc", force_refresh=True)  # the rotated refresh token was stored
    assert refreshed.access_token != token.access_token
