"""Real servers on 127.0.0.1 for the tests: the project's test provider and oidc-provider.

Each server runs as a child with ``--exit-on-stdin-close`` so it dies with pytest. When
``TB_TEST_PROVIDER`` / ``TB_TEST_ISSUER`` are set (as the root Makefile does), the running
servers are reused.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
GUID = "6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d"


def _start(script: str, env_key: str, field: str) -> Iterator[str]:
    existing = os.environ.get(env_key)
    if existing:
        yield existing
        return
    proc = subprocess.Popen(
        ["node", str(REPO / script), "--exit-on-stdin-close"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().decode()
    try:
        url = json.loads(line)[field]
    except (ValueError, KeyError):
        proc.kill()
        raise RuntimeError(f"{script} printed {line!r} instead of its JSON start line") from None
    try:
        yield url
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def provider() -> Iterator[str]:
    """Base URL of tests/provider/server.mjs."""
    yield from _start("tests/provider/server.mjs", "TB_TEST_PROVIDER", "url")


@pytest.fixture(scope="session")
def issuer() -> Iterator[str]:
    """Issuer URL of tests/oidc/server.mjs (panva's oidc-provider)."""
    if not os.environ.get("TB_TEST_ISSUER") and not (REPO / "tests/oidc/node_modules").is_dir():
        pytest.skip("tests/oidc/node_modules missing: run `npm ci` in tests/oidc")
    yield from _start("tests/oidc/server.mjs", "TB_TEST_ISSUER", "issuer")


class Admin:
    """The test provider's admin API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/_admin/{path}",
            data=data,
            headers={"content-type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def new_client(self, prefix: str, **extra: Any) -> tuple[str, str]:
        """Registers a fresh confidential client, so request counts are this test's own."""
        n = secrets.token_hex(6)
        client_id, secret = f"{prefix}-{n}", f"secret-{n}-{secrets.token_hex(8)}"
        self.call("clients", {"client_id": client_id, "client_secret": secret, **extra})
        return client_id, secret

    def requests_by(self, client_id: str) -> int:
        return int(self.call("stats")["by_client"].get(client_id, 0))

    def route(self, name: str) -> int:
        return int(self.call("stats")["requests"].get(name, 0))

    def fault(self, **fault: Any) -> None:
        self.call("faults", fault)


@pytest.fixture(scope="session")
def admin(provider: str) -> Admin:
    return Admin(provider)


def memory_config(profile: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"cache": {"store": "memory"}, "profiles": {name: profile}}


@pytest.fixture()
def alvys(admin: Admin, provider: str) -> Callable[..., tuple[dict[str, Any], str, str]]:
    """A fresh Alvys client and a memory-cache config for it (profile ``p``)."""

    def make(**extra: Any) -> tuple[dict[str, Any], str, str]:
        client_id, secret = admin.new_client("alvys")
        profile = {
            "provider": "alvys",
            "tenant": "t1",
            "client_id": client_id,
            "client_secret": secret,
            "token_url": f"{provider}/api/authentication/t1/token",
            **extra,
        }
        return memory_config(profile), client_id, secret

    return make
