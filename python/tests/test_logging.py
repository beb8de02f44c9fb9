"""Core events reach Python logging under `tokenbroker`, without secrets."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from conftest import Admin

from tokenbroker import Broker, OAuthError


def test_events_reach_logging_without_secrets(
    alvys: Any, admin: Admin, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tokenbroker")
    config, _client_id, secret = alvys()
    broker = Broker(config)
    token = broker.token("p")
    issued = [r for r in caplog.records if "token issued" in r.getMessage()]
    assert issued and issued[0].levelno == logging.INFO
    assert issued[0].name.startswith("tokenbroker.")
    assert issued[0].pathname.endswith(".rs") and issued[0].lineno > 0
    assert "profile=p" in issued[0].getMessage()
    assert any(r.levelno == logging.DEBUG for r in caplog.records)

    bad = dict(config["profiles"]["p"], client_secret="wrong-secret-456")
    broker2 = Broker({"cache": {"store": "memory"}, "profiles": {"bad": bad}})
    with pytest.raises(OAuthError):
        broker2.token("bad")
    assert any(r.levelno == logging.WARNING and "invalid_client" in r.getMessage() for r in caplog.records)

    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for s in (secret, "wrong-secret-456", token.access_token):
        assert s not in text


def test_background_events_are_forwarded_without_a_caller(
    alvys: Any, admin: Admin, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing drains the queue here (the loop is gone when the fetch ends): the forwarder
    thread must deliver the event."""
    caplog.set_level(logging.INFO, logger="tokenbroker")
    config, _, _ = alvys()
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=200, count=1)

    async def main() -> None:
        fut = broker.token_async("p")
        fut.cancel()

    asyncio.run(main())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any("token issued" in r.getMessage() for r in caplog.records):
            break
        time.sleep(0.05)
    assert any("token issued" in r.getMessage() for r in caplog.records)


def test_logging_handler_errors_do_not_break_calls(alvys: Any) -> None:
    class Boom(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise RuntimeError("handler failed")

        def handleError(self, record: logging.LogRecord) -> None:
            pass

    logger = logging.getLogger("tokenbroker")
    handler = Boom()
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        assert Broker(alvys()[0]).token("p").access_token
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
