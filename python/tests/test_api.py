"""The rest of the surface: cached_token, options, stats, profiles, files, closing, repr."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Admin

import tokenbroker
from tokenbroker import AccessToken, Broker


def test_cached_token_never_fetches(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    assert broker.cached_token("p") is None
    assert admin.requests_by(client_id) == 0
    token = broker.token("p")
    cached = broker.cached_token("p")
    assert cached is not None and cached.access_token == token.access_token
    # A token that does not last long enough is not offered.
    assert broker.cached_token("p", min_ttl=7200) is None
    assert broker.cached_token("p", min_ttl=timedelta(minutes=5)) is not None


def test_min_ttl_and_force_refresh_fetch_again(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    first = broker.token("p")
    assert broker.token("p", min_ttl=60).access_token == first.access_token
    assert broker.token("p", min_ttl=timedelta(hours=2)).access_token != first.access_token
    assert broker.token("p", force_refresh=True).access_token != first.access_token
    assert admin.requests_by(client_id) == 3


def test_scopes_as_list_or_string_share_a_key(admin: Admin, provider: str) -> None:
    client_id, secret = admin.new_client("alvaria")
    broker = Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "p": {
                    "provider": "alvaria",
                    "region": "us",
                    "client_id": client_id,
                    "client_secret": secret,
                    "token_url": f"{provider}/tokenservice/oauth2/access_token",
                }
            },
        }
    )
    a = broker.token("p", scopes=["myaccount.clients.list", "myaccount.clients.view"])
    b = broker.token("p", scopes="myaccount.clients.list myaccount.clients.view")
    c = broker.token("p", scopes=("myaccount.clients.view",))
    assert a.access_token == b.access_token != c.access_token
    assert set(a.scopes) == {"myaccount.clients.list", "myaccount.clients.view"}
    assert admin.requests_by(client_id) == 2


def test_stats_profiles_clear_cache(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    config["profiles"]["q"] = dict(config["profiles"]["p"])
    broker = Broker(config)
    assert broker.profiles() == ["p", "q"]
    broker.token("p")
    broker.token("p")
    stats = broker.stats()
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["fetches"] == 1
    assert stats["entries"] == 1
    assert isinstance(stats["hits"], int) and isinstance(stats["fetch_mean_ms"], float)
    assert stats["fetch_mean_ms"] > 0
    assert {"shared_hits", "coalesced", "errors", "store_errors", "fetch_p99_ms"} <= set(stats)
    broker.clear_cache()
    assert broker.cached_token("p") is None
    broker.token("p")
    broker.forget("p")
    assert broker.cached_token("p") is None
    assert admin.requests_by(client_id) == 2


def test_access_token_attributes_and_redaction(alvys: Any) -> None:
    broker = Broker(alvys()[0])
    token = broker.token("p")
    secret = token.access_token
    assert len(secret) > 8
    for text in (repr(token), str(token), f"{token}", f"{token!r}", repr([token]), repr(broker)):
        assert secret not in text
    assert "Bearer" in repr(token) and "expires_in" in repr(token)
    assert token.header() == f"Bearer {secret}"
    assert abs(token.expires_at.timestamp() - token.expires_at_unix) < 1e-3
    assert type(token) is AccessToken and type(token).__module__ == "tokenbroker"
    with pytest.raises(AttributeError):
        token.access_token = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(token)


def test_context_manager_closes(alvys: Any) -> None:
    with Broker(alvys()[0]) as broker:
        broker.token("p")
        assert not broker.closed
    assert broker.closed
    assert "closed" in repr(broker)
    with pytest.raises(RuntimeError, match="closed"):
        broker.token("p")
    with pytest.raises(RuntimeError, match="closed"):
        broker.cached_token("p")
    broker.close()  # idempotent


def test_from_config_file(alvys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _, secret = alvys()
    p = config["profiles"]["p"]
    text = '[cache]\nstore = "memory"\n[profiles.p]\n' + "".join(f'{k} = "{v}"\n' for k, v in p.items())
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    assert Broker.from_config(path).token("p").access_token
    assert Broker(config_file=str(path)).profiles() == ["p"]
    monkeypatch.setenv("TOKENBROKER_CONFIG", str(path))
    assert Broker().profiles() == ["p"]
    assert isinstance(Broker.from_config(), tokenbroker.Broker)
    # A literal secret in a file others can read is refused, naming the file, not the secret.
    path.chmod(0o644)
    with pytest.raises(tokenbroker.ConfigError) as info:
        Broker.from_config(path)
    assert str(path) in str(info.value) and secret not in str(info.value)


def test_secret_from_env_reference(alvys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _, secret = alvys()
    monkeypatch.setenv("TB_PY_TEST_SECRET", secret)
    config["profiles"]["p"]["client_secret"] = "env:TB_PY_TEST_SECRET"
    assert Broker(config).token("p").access_token


def test_subclass_and_version() -> None:
    assert issubclass(Broker, tokenbroker._tokenbroker.BrokerBase)
    assert tokenbroker.__version__
    assert os.path.basename(tokenbroker._tokenbroker.__file__ or "").startswith("_tokenbroker")
