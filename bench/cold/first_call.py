"""First call on a new client, in one process: discovery + token request against the test
provider's `plain` issuer, a fresh client object each iteration (bench/cold/cold.py runs this
with python/.venv's interpreter and prints its last line, JSON rows).

- tokenbroker: ``Broker({memory store, issuer profile}).token("p")``, then ``close()``.
- Authlib: a new ``OAuth2Session``; ``session.get(discovery).json()``, then
  ``fetch_token(token_endpoint, grant_type="client_credentials")`` (client_secret_basic).
- bare requests: a new ``requests.Session``; GET discovery, POST the token request (Basic).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import time
from collections.abc import Callable

import requests
import tokenbroker
from authlib.integrations.requests_client import OAuth2Session
from provider_admin import PROVIDER, new_client, total_requests

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "30"))
WARMUP = 3
ISSUER = f"{PROVIDER}/plain/max-age-3600.t{secrets.token_hex(4)}"
DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"


def with_tokenbroker(cid: str, secret: str) -> Callable[[], str]:
    config: dict[str, object] = {
        "cache": {"store": "memory"},
        "profiles": {
            "p": {
                "provider": "oidc",
                "grant": "client_credentials",
                "issuer": ISSUER,
                "client_id": cid,
                "client_secret": secret,
                "scopes": ["read"],
            }
        },
    }

    def call() -> str:
        broker = tokenbroker.Broker(config)
        try:
            return broker.token("p").access_token
        finally:
            broker.close()

    return call


def with_authlib(cid: str, secret: str) -> Callable[[], str]:
    def call() -> str:
        with OAuth2Session(cid, secret, scope="read", token_endpoint_auth_method="client_secret_basic") as s:
            meta = s.get(DISCOVERY, withhold_token=True).json()
            token = s.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
            return str(token["access_token"])

    return call


def with_requests(cid: str, secret: str) -> Callable[[], str]:
    def call() -> str:
        with requests.Session() as s:
            meta = s.get(DISCOVERY).json()
            resp = s.post(
                meta["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": "read"},
                auth=(cid, secret),
            )
            resp.raise_for_status()
            return str(resp.json()["access_token"])

    return call


def measure(label: str, make: Callable[[str, str], Callable[[], str]]) -> dict[str, object]:
    call = make(*new_client("first-py"))
    for _ in range(WARMUP):
        call()
    before = total_requests()
    times = []
    cpu0 = time.process_time()
    for _ in range(RUNS):
        t0 = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    cpu_ms = 1000 * (time.process_time() - cpu0) / RUNS
    sent = total_requests() - before
    times.sort()
    return {
        "label": label,
        "median_ms": statistics.median(times),
        "p90_ms": times[min(RUNS - 1, int(RUNS * 0.9))],
        "cpu_ms": cpu_ms,
        "requests": sent,
        "calls": RUNS,
    }


rows = [
    measure(f"tokenbroker {tokenbroker.__version__}: new Broker(memory store) + token()", with_tokenbroker),
    measure("Authlib: new OAuth2Session + GET discovery + fetch_token", with_authlib),
    measure("bare requests: new Session + GET discovery + POST token", with_requests),
]
print(json.dumps(rows))
