"""One exception class per core error kind, with the core's message and no secret."""

from __future__ import annotations

import json
import pickle
import socket
import time
import traceback
from typing import Any

import pytest
from conftest import Admin, memory_config

import tokenbroker
from tokenbroker import (
    Broker,
    ConfigError,
    InvalidResponseError,
    OAuthError,
    ProviderTimeoutError,
    RateLimitedError,
    TokenBrokerError,
    TransportError,
)

NO_RETRY = {"max_retries": 0}


def test_every_core_kind_has_a_class() -> None:
    from tokenbroker._errors import BY_KIND

    assert set(tokenbroker._tokenbroker.ERROR_KINDS) == set(BY_KIND)
    for kind, cls in BY_KIND.items():
        assert issubclass(cls, TokenBrokerError)
        assert cls.kind == kind
        assert cls.__module__ == "tokenbroker"
        # A kind the core added is given a bare class by _errors; it must get a documented,
        # exported one.
        assert getattr(tokenbroker, cls.__name__) is cls, f"kind {kind!r} has no exported class"
        assert cls.__name__ in tokenbroker.__all__
    assert not issubclass(ProviderTimeoutError, TimeoutError)  # no shadowing of the builtin


def test_bad_secret_is_an_oauth_error_without_the_secret(admin: Admin, provider: str) -> None:
    client_id, _ = admin.new_client("bad")
    wrong = "wrong-secret-value-123"
    broker = Broker(
        memory_config(
            {
                "provider": "alliance",
                "client_id": client_id,
                "client_secret": wrong,
                "token_url": f"{provider}/API/v2/OAuth/token",
            }
        )
    )
    with pytest.raises(OAuthError) as info:
        broker.token("p")
    err = info.value
    assert isinstance(err, TokenBrokerError)
    assert err.kind == "oauth"
    assert err.error == "invalid_client"
    assert err.status == 401
    assert "invalid_client" in str(err) and "HTTP 401" in str(err)
    tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    text = f"{err} {err!r} {err.args} {err.description} {tb}"
    assert wrong not in text
    assert broker.stats()["errors"] == 1
    # Survives pickling (multiprocessing sends exceptions between processes).
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is OAuthError and back.error == "invalid_client" and back.status == 401


def test_a_bad_guid_breaks_its_profile_only(provider: str, alvys: Any) -> None:
    config = alvys()[0]
    config["profiles"]["bad"] = {
        "provider": "alliance",
        "client_id": "x",
        "client_secret": "the-secret-xyz",
        "enrollment": "not-a-guid",
        "token_url": f"{provider}/API/v2/OAuth/token",
    }
    broker = Broker(config)
    assert broker.token("p").access_token
    with pytest.raises(ConfigError) as info:
        broker.token("bad")
    assert info.value.kind == "config"
    assert "enrollment" in str(info.value) and "GUID" in str(info.value)
    assert "the-secret-xyz" not in str(info.value)


def test_unknown_profile_is_a_config_error_naming_known_ones(alvys: Any) -> None:
    broker = Broker(alvys()[0])
    with pytest.raises(ConfigError, match="known: p"):
        broker.token("nope")
    with pytest.raises(ConfigError):
        broker.cached_token("nope")


def test_html_answer_is_an_invalid_response_error(alvys: Any, admin: Admin) -> None:
    config, _client_id, _ = alvys()
    config["http"] = NO_RETRY
    config["cache"]["failure_hold"] = 1
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="html", count=1)
    before = admin.route("alvys.token")
    with pytest.raises(InvalidResponseError) as info:
        broker.token("p")
    assert info.value.status == 500
    assert info.value.kind == "invalid_response"
    # The outage is shared for `failure_hold`: the next call fails fast, without a request.
    with pytest.raises(InvalidResponseError) as again:
        broker.token("p")
    assert str(again.value) == str(info.value)
    assert admin.route("alvys.token") == before + 1
    time.sleep(1.1)
    broker.token("p")  # the hold lapsed and the fault was used up


def test_unreachable_port_is_a_transport_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = Broker(
        {
            "cache": {"store": "memory"},
            "http": {**NO_RETRY, "connect_timeout": 2},
            "profiles": {
                "p": {
                    "provider": "alvys",
                    "tenant": "t",
                    "client_id": "x",
                    "client_secret": "y",
                    "token_url": f"http://127.0.0.1:{port}/api/authentication/t/token",
                }
            },
        }
    )
    with pytest.raises(TransportError) as info:
        broker.token("p")
    assert info.value.status is None
    assert f"127.0.0.1:{port}" in str(info.value)


def test_slow_provider_is_a_provider_timeout_error(alvys: Any, admin: Admin) -> None:
    config, _, _ = alvys()
    config["http"] = {**NO_RETRY, "timeout": 0.3}
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=1500, count=1)
    with pytest.raises(ProviderTimeoutError) as info:
        broker.token("p")
    assert info.value.kind == "timeout"


def test_retry_after_beyond_the_deadline_is_a_rate_limited_error(alvys: Any, admin: Admin) -> None:
    config, _, _ = alvys()
    config["http"] = {"deadline": 10}
    broker = Broker(config)
    before = admin.route("alvys.token")
    admin.fault(route="alvys.token", kind="status", status=429, retry_after="120", count=1)
    with pytest.raises(RateLimitedError) as info:
        broker.token("p")
    err = info.value
    assert err.kind == "rate_limited" and err.status == 429 and err.retry_after == 120
    assert "retry after 120 s" in str(err)
    assert admin.route("alvys.token") == before + 1, "no retry before the server's Retry-After"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is RateLimitedError and back.retry_after == 120
    # Callers after it fail fast with the same error until the (capped) hold lapses.
    with pytest.raises(RateLimitedError) as again:
        broker.token("p")
    assert again.value.retry_after == 120
    assert admin.route("alvys.token") == before + 1


def test_bad_config_values_are_type_errors_without_values() -> None:
    with pytest.raises(TypeError) as info:
        Broker({"profiles": {"p": {"client_secret": object()}}})
    assert "config.profiles.p.client_secret" in str(info.value)
    with pytest.raises(TypeError):
        Broker({"cache": {"store": "memory"}}, config_file="/nonexistent")
    with pytest.raises(ConfigError):
        Broker(config_file="/nonexistent/tokenbroker.toml")
    with pytest.raises(ConfigError, match="unknown section"):
        Broker({"nope": {}})


def test_a_broker_takes_toml_text_like_every_binding(alvys: Any) -> None:
    config, _, secret = alvys()
    p = config["profiles"]["p"]
    text = "\n".join(
        [
            '[cache]\nstore = "memory"',
            "[profiles.p]",
            *(f"{key} = {json.dumps(value)}" for key, value in p.items()),
        ]
    )
    assert Broker(text).token("p").access_token
    with pytest.raises(ConfigError) as info:
        Broker(text.replace("[profiles.p]", "[profiles.p"))
    assert secret not in str(info.value)
    with pytest.raises(TypeError):
        Broker(text, config_file="/nonexistent")


def test_bad_call_arguments(alvys: Any) -> None:
    broker = Broker(alvys()[0])
    with pytest.raises(ConfigError):
        broker.token("p", min_ttl=-1)
    with pytest.raises(TypeError):
        broker.token("p", min_ttl="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        broker.token("p", scopes=[1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        broker.token(b"p")  # type: ignore[arg-type]


def test_durations_no_clock_can_hold_are_config_errors_naming_the_argument(alvys: Any) -> None:
    broker = Broker(alvys()[0])
    for value in (1e19, 1e300, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="min_ttl"):
            broker.token("p", min_ttl=value)
        with pytest.raises(ConfigError, match="min_ttl"):
            broker.cached_token("p", min_ttl=value)
    assert broker.token("p", min_ttl=60).access_token
