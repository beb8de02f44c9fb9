"""The test provider's admin API for the cold-start bench scripts (run as scripts from this
directory, so `import provider_admin` finds this file): `TB_TEST_PROVIDER` names the provider."""

from __future__ import annotations

import json
import os
import secrets
import urllib.request

PROVIDER = os.environ["TB_TEST_PROVIDER"].rstrip("/")


def admin(path: str, body: object = None) -> object:
    """GET `/_admin/{path}` without a body, POST it with one; the JSON answer."""
    req = urllib.request.Request(
        f"{PROVIDER}/_admin/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(req) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def total_requests() -> int:
    """Every request the provider counted so far."""
    stats = admin("stats")
    assert isinstance(stats, dict)
    return sum(stats["requests"].values())


def new_client(prefix: str) -> tuple[str, str]:
    """A fresh confidential client: its id and secret."""
    n = secrets.token_hex(6)
    cid, secret = f"{prefix}-{n}", f"secret-{n}"
    admin("clients", {"client_id": cid, "client_secret": secret})
    return cid, secret
