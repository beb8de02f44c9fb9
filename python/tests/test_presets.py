"""Every seed preset's client_credentials (and Azure's refresh_token grant) end to end."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from datetime import datetime, timedelta, timezone

from conftest import GUID, Admin, memory_config

from tokenbroker import AccessToken, Broker


def test_alliance_requested_scopes_and_enrollment_then_memory(admin: Admin, provider: str) -> None:
    client_id, secret = admin.new_client("aos")
    broker = Broker(
        memory_config(
            {
                "provider": "alliance",
                "client_id": client_id,
                "client_secret": secret,
                "scopes": ["User.Read.All", "Orders.Read"],
                "enrollment": GUID,
                "token_url": f"{provider}/API/v2/OAuth/token",
            }
        )
    )
    first = broker.token("p")
    second = broker.token("p")
    assert isinstance(first, AccessToken)
    assert first.access_token == second.access_token
    assert first.token_type == "Bearer"
    assert first.header() == f"Bearer {first.access_token}"
    assert first.expires_at.tzinfo is timezone.utc
    assert first.expires_at - datetime.now(timezone.utc) > timedelta(seconds=3500)
    assert 3500 < first.expires_in <= 3599
    assert admin.requests_by(client_id) == 1
    sent = [r for r in admin.call("requests?route=alliance.token") if client_id in json.dumps(r)]
    body = urllib.parse.parse_qs(sent[-1]["body"])
    assert body["requested_scopes"] == ["User.Read.All,Orders.Read"]
    assert body["requested_enrollment"] == [GUID]
    stats = broker.stats()
    assert (stats["hits"], stats["misses"], stats["fetches"]) == (1, 1, 1)


def test_alvaria_region_with_token_url_override(admin: Admin, provider: str) -> None:
    client_id, secret = admin.new_client("alvaria")
    broker = Broker(
        memory_config(
            {
                "provider": "alvaria",
                "region": "eu",
                "client_id": client_id,
                "client_secret": secret,
                "scopes": ["myaccount.clients.list"],
                "token_url": f"{provider}/tokenservice/oauth2/access_token",
            }
        )
    )
    token = broker.token("p")
    assert token.scopes == ("myaccount.clients.list",)
    assert admin.requests_by(client_id) == 1


def test_alvys_tenant_in_the_path(alvys, admin: Admin) -> None:  # type: ignore[no-untyped-def]
    config, client_id, _ = alvys()
    broker = Broker(config)
    broker.token("p")
    broker.token("p")
    assert admin.requests_by(client_id) == 1
    assert admin.route("alvys.token") >= 1


def azure_refresh_token(provider: str, client_id: str, client_secret: str) -> str:
    """Signs in once at the Azure AD v1 endpoints (query response mode), like seed 004's
    one-time consent, and returns the refresh token."""
    host = urllib.parse.urlparse(provider)
    redirect = "http://127.0.0.1:9/callback"
    resource = "https://api.partnercenter.microsoft.com"
    query = urllib.parse.urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "response_mode": "query",
            "resource": resource,
            "state": "s",
        }
    )
    assert host.hostname is not None, provider
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.request("GET", f"/contoso/oauth2/authorize?{query}")
    resp = conn.getresponse()
    location = resp.getheader("location")
    resp.read()
    assert location, f"authorize answered {resp.status} without a redirect"
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    form = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "resource": resource,
            "client_id": client_id,
            "client_secret": client_secret,
        }
    )
    conn.request(
        "POST",
        "/contoso/oauth2/token",
        body=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    body = json.loads(conn.getresponse().read())
    conn.close()
    return str(body["refresh_token"])


def test_azure_ad_v1_refresh_token_grant_rotates(admin: Admin, provider: str) -> None:
    client_id, secret = admin.new_client("azure")
    refresh_token = azure_refresh_token(provider, client_id, secret)
    broker = Broker(
        memory_config(
            {
                "provider": "azure-ad-v1",
                "tenant": "contoso",
                "resource": "https://api.partnercenter.microsoft.com",
                "grant": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
                "client_secret": secret,
                "token_url": f"{provider}/contoso/oauth2/token",
                "jwks_url": f"{provider}/contoso/discovery/keys",
                "issuer": f"{provider}/contoso/",
            }
        )
    )
    # The provider refuses reuse of a rotated refresh token: three forced refreshes in a row
    # only work if each rotation was kept by the core.
    seen = set()
    for _ in range(3):
        token = broker.token("p", force_refresh=True)
        assert token.expires_in > 3500  # expires_in sent as a string
        seen.add(token.access_token)
    assert len(seen) == 3


def test_oidc_provider_client_credentials_via_discovery(issuer: str) -> None:
    broker = Broker(
        memory_config(
            {
                "provider": "oidc",
                "issuer": issuer,
                "client_id": "oidc-basic",
                "client_secret": "oidc-basic-secret",
                "scopes": ["api:read"],
            }
        )
    )
    token = broker.token("p")
    assert token.token_type.lower() == "bearer"
    assert "api:read" in token.scopes
    assert broker.token("p").access_token == token.access_token
    assert broker.stats()["fetches"] == 1
