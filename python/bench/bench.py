"""Benchmark: tokenbroker vs msal vs Authlib, against the project's local test servers.

    make -C python bench        # release build, installs msal + Authlib, runs this

What is measured (all on 127.0.0.1, same machine, one process):

1. Warm token, per call (median of batch medians). All three peers use panva's oidc-provider
   (tests/oidc) as the authority, access-token TTL 3600 s, client credentials, scope api:read:
   - tokenbroker: ``broker.token("oidc")`` (memory-cache hit, returns an AccessToken).
   - msal: ``app.acquire_token_for_client(scopes=["api:read"])`` (its in-memory token cache;
     msal requires an https authority with a path, so its HTTP client maps
     https://127.0.0.1:PORT/tenant onto the http issuer - transport only).
   - Authlib: ``session.ensure_active_token(session.token)`` then ``session.token["access_token"]``
     on an ``OAuth2Session`` (Authlib has no token cache: the session holds one token and
     re-fetches it when expired; this is its per-request check).
2. Cold fetch, per call (median): a full token request to the test provider (tests/provider,
   Alvys endpoint, client_secret_post): tokenbroker ``token(force_refresh=True)`` vs a bare
   ``requests.Session().post(...).json()`` vs Authlib ``fetch_token``.
3. Herd: 100 threads released together on a cold cache, one shared client object per library,
   against oidc-provider; the number of token requests each library sent.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msal
import requests
from authlib.integrations.requests_client import OAuth2Session

import tokenbroker

REPO = Path(__file__).resolve().parents[2]


def start(script: str, field: str, env: dict[str, str] | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        ["node", str(REPO / script), "--exit-on-stdin-close"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    return json.loads(proc.stdout.readline())[field], proc


def admin(url: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        f"{url}/_admin/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(req) as resp:
        text = resp.read()
    return json.loads(text) if text else None


class MsalHttp(requests.Session):
    """msal's HTTP client: maps the https authority msal insists on onto the local http
    issuer and counts token requests. Transport only: msal's logic is untouched."""

    def __init__(self, fake: str, real: str) -> None:
        super().__init__()
        self.fake, self.real = fake, real
        self.token_posts = 0
        self.lock = threading.Lock()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if url.startswith(self.fake):
            url = self.real + url[len(self.fake) :]
        if method.upper() == "POST" and url.endswith("/token"):
            with self.lock:
                self.token_posts += 1
        resp = super().request(method, url, *args, **kwargs)
        if url.endswith("/.well-known/openid-configuration"):
            resp._content = resp.content.replace(self.real.encode(), self.fake.encode())
        return resp


def msal_app(issuer: str) -> tuple[msal.ConfidentialClientApplication, MsalHttp]:
    fake = issuer.replace("http://", "https://") + "/tenant"
    http = MsalHttp(fake, issuer)
    app = msal.ConfidentialClientApplication(
        "oidc-post", client_credential="oidc-post-secret", oidc_authority=fake, http_client=http
    )
    return app, http


def authlib_session(
    token_endpoint: str, client: str, secret: str, auth: str
) -> tuple[OAuth2Session, list[int]]:
    session = OAuth2Session(
        client,
        secret,
        token_endpoint=token_endpoint,
        token_endpoint_auth_method=auth,
        scope="api:read",
        grant_type="client_credentials",
    )
    posts = [0]
    lock = threading.Lock()

    def count(resp: requests.Response, **_: Any) -> None:
        if resp.request.method == "POST" and resp.request.url == token_endpoint:
            with lock:
                posts[0] += 1

    session.hooks["response"].append(count)
    return session, posts


def per_call_ns(fn: Callable[[], object], batch: int, batches: int) -> float:
    """Median over `batches` of the mean per-call time of `batch` back-to-back calls."""
    for _ in range(batch):
        fn()
    samples = []
    for _ in range(batches):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter_ns() - t0) / batch)
    return statistics.median(samples)


def each_ms(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median and p90 of single calls, in ms."""
    for _ in range(5):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(n * 0.9)]


def herd(fn: Callable[[], object], threads: int = 100) -> float:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as e:
            errors.append(e)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    provider, p1 = start("tests/provider/server.mjs", "url")
    issuer, p2 = start("tests/oidc/server.mjs", "issuer", {"OIDC_AT_TTL": "3600"})
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    token_endpoint = meta["token_endpoint"]
    rows: list[tuple[str, str, str]] = []

    # 1. Warm
    oidc_profile = {
        "provider": "oidc",
        "issuer": issuer,
        "client_id": "oidc-basic",
        "client_secret": "oidc-basic-secret",
        "scopes": ["api:read"],
    }
    broker = tokenbroker.Broker({"cache": {"store": "memory"}, "profiles": {"oidc": oidc_profile}})
    broker.token("oidc")
    app, _ = msal_app(issuer)
    assert "access_token" in app.acquire_token_for_client(scopes=["api:read"])
    assert app.acquire_token_for_client(scopes=["api:read"])["token_source"] == "cache"
    session, _ = authlib_session(token_endpoint, "oidc-basic", "oidc-basic-secret", "client_secret_basic")
    session.fetch_token(token_endpoint)

    def authlib_warm() -> str:
        session.ensure_active_token(session.token)
        return str(session.token["access_token"])

    tb_token = broker.token
    warm = {
        "tokenbroker `broker.token(p)`": per_call_ns(lambda: tb_token("oidc"), 2000, 200),
        "tokenbroker `broker.token(p).header()`": per_call_ns(lambda: tb_token("oidc").header(), 2000, 200),
        "msal `acquire_token_for_client`": per_call_ns(
            lambda: app.acquire_token_for_client(scopes=["api:read"]), 200, 100
        ),
        "Authlib `ensure_active_token` + `token[...]`": per_call_ns(authlib_warm, 2000, 200),
    }
    for name, ns in warm.items():
        rows.append(("warm token, per call (median)", name, f"{ns / 1000:.3f} µs"))

    # 2. Cold: full requests to the test provider.
    client_id, secret = "bench-cold", "bench-cold-secret-0123456789"
    admin(provider, "clients", {"client_id": client_id, "client_secret": secret})
    token_url = f"{provider}/api/authentication/t1/token"
    cold_broker = tokenbroker.Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "p": {
                    "provider": "alvys",
                    "tenant": "t1",
                    "client_id": client_id,
                    "client_secret": secret,
                    "token_url": token_url,
                }
            },
        }
    )
    bare = requests.Session()
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    cold_authlib, _ = authlib_session(token_url, client_id, secret, "client_secret_post")
    cold = {
        "tokenbroker `token(p, force_refresh=True)`": each_ms(
            lambda: cold_broker.token("p", force_refresh=True), 300
        ),
        "bare `requests.Session().post(...).json()`": each_ms(
            lambda: bare.post(token_url, data=form, timeout=10).json()["access_token"], 300
        ),
        "Authlib `OAuth2Session.fetch_token`": each_ms(lambda: cold_authlib.fetch_token(token_url), 300),
    }
    for name, (med, p90) in cold.items():
        rows.append(("cold fetch, per call (median / p90)", name, f"{med:.3f} ms / {p90:.3f} ms"))

    # 3. Herd: 100 threads, cold cache, one shared client object each.
    herd_broker = tokenbroker.Broker({"cache": {"store": "memory"}, "profiles": {"oidc": oidc_profile}})
    ms = herd(lambda: herd_broker.token("oidc"))
    rows.append(
        ("100-thread herd, cold", "tokenbroker", f"{herd_broker.stats()['fetches']} request(s), {ms:.0f} ms")
    )
    herd_app, herd_http = msal_app(issuer)
    herd_http.token_posts = 0
    ms = herd(lambda: herd_app.acquire_token_for_client(scopes=["api:read"]))
    rows.append(("100-thread herd, cold", "msal", f"{herd_http.token_posts} request(s), {ms:.0f} ms"))
    herd_session, herd_posts = authlib_session(
        token_endpoint, "oidc-basic", "oidc-basic-secret", "client_secret_basic"
    )

    def authlib_get() -> None:
        if not herd_session.token or herd_session.token.is_expired():
            herd_session.fetch_token(token_endpoint)

    ms = herd(authlib_get)
    rows.append(
        (
            "100-thread herd, cold",
            "Authlib (check, else fetch_token)",
            f"{herd_posts[0]} request(s), {ms:.0f} ms",
        )
    )

    build = "DEBUG build (numbers meaningless)" if tokenbroker._tokenbroker._debug_build else "release build"
    print(
        f"\ntokenbroker {tokenbroker.__version__} ({build}), msal {msal.__version__}, "
        f"Authlib {__import__('authlib').__version__}, requests {requests.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n"
    )
    print("| measurement | library / call | result |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for proc in (p1, p2):
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
