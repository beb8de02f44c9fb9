"""Typed use of tokenbroker; `mypy --strict` checks it (see test.sh).

Run it against a config file: ``TOKENBROKER_CONFIG=config.toml python typed_usage.py PROFILE URL``
(or ``PROFILE --device-login`` to sign in with the device flow).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime, timedelta

import httpx
import requests

import tokenbroker
from tokenbroker import AccessToken, Broker, DeviceCode, OAuthError, TokenBrokerError


def describe(token: AccessToken) -> str:
    expires: datetime = token.expires_at
    scopes: tuple[str, ...] = token.scopes
    return f"{token.token_type} token for {' '.join(scopes) or '-'}, expires {expires.isoformat()}"


def blocking(broker: Broker, profile: str, url: str) -> int:
    token = broker.token(profile, min_ttl=timedelta(minutes=1))
    print(describe(token), f"({token.expires_in:.0f}s left)")
    cached: AccessToken | None = broker.cached_token(profile)
    assert cached is not None
    headers = {"Authorization": token.header()}
    print("manual header:", requests.get(url, headers=headers, timeout=10).status_code)
    with requests.Session() as session:
        resp = session.get(url, auth=broker.requests_auth(profile), timeout=10)
        print("requests:", resp.status_code)
    with httpx.Client(auth=broker.httpx_auth(profile)) as client:
        print("httpx:", client.get(url).status_code)
    return resp.status_code


async def concurrent(broker: Broker, profile: str, url: str) -> list[int]:
    tokens: list[AccessToken] = await asyncio.gather(*(broker.token_async(profile) for _ in range(10)))
    assert len({t.access_token for t in tokens}) == 1
    async with httpx.AsyncClient(auth=broker.httpx_auth(profile, scopes=None)) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(3)))
    entries: list[dict[str, object]] = await broker.cache_entries_async()
    print("shared entries:", len(entries))
    return [r.status_code for r in responses]


async def sign_in(broker: Broker, profile: str) -> bool:
    """The device flow without blocking the loop; ``on_code`` runs on the loop's thread."""

    def show(code: DeviceCode) -> None:
        print(f"open {code.verification_uri} and enter {code.user_code}")

    token = await broker.device_login_async(profile, on_code=show)
    print(describe(token))
    revoked: bool = await broker.logout_async(profile)
    return revoked


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO)
    profile, url = argv[1], argv[2]
    if url == "--device-login":
        with Broker.from_config() as broker:
            return 0 if asyncio.run(sign_in(broker, profile)) else 1
    try:
        with Broker.from_config() as broker:
            print("profiles:", ", ".join(broker.profile_names()))
            blocking(broker, profile, url)
            print("async:", asyncio.run(concurrent(broker, profile, url)))
            stats: dict[str, int | float] = broker.stats()
            print("fetches:", stats["fetches"], "hits:", stats["hits"])
    except OAuthError as e:
        print(f"refused: {e.error} ({e.status}): {e.description}", file=sys.stderr)
        return 2
    except TokenBrokerError as e:
        print(f"{e.kind}: {e}", file=sys.stderr)
        return 1
    print("tokenbroker", tokenbroker.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
