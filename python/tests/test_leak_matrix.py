"""The leak matrix (tests/leak/README.md) through the Python package: for every case the
exception's ``str``, ``repr`` and traceback, and every ``tokenbroker`` log record at DEBUG, must
hold no secret in any encoding and no control character."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

import pytest
from conftest import Admin, memory_config
from leak_needles import Needles, expand_cases, summary
from test_scenarios import Servers, servers  # noqa: F401  (the fixture: servers with TB_TEST_KEYS)

from tokenbroker import Broker, TokenBrokerError


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.format(record)} {record.__dict__!r}")


def test_no_secret_in_any_exception_or_log(servers: Servers) -> None:  # noqa: F811
    admin = Admin(servers.provider)
    private_key = (Path(servers.keys) / "client-key.pem").read_text()
    logger = logging.getLogger("tokenbroker")
    records = _Records()
    old_level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    echoes_from = len(admin.call("echoes"))
    cases = expand_cases()
    outputs: list[tuple[str, str, str]] = []
    needles = Needles()
    sent: dict[str, str] = {}
    try:
        for c in cases:
            broker = Broker(memory_config(c.profile(servers.provider, private_key), "leak"))
            admin.call("faults", c.fault())
            records.lines.clear()
            texts: dict[str, str] = {}
            try:
                result = (
                    broker.list_clients("leak")
                    if c.template["action"] == "list_clients"
                    else broker.token("leak")
                )
                texts["result"] = repr(result)
            except TokenBrokerError as e:
                texts["str"] = str(e)
                texts["repr"] = repr(e)
                texts["traceback"] = "".join(traceback.format_exception(e))
            broker.close()
            texts["logging"] = "\n".join(records.lines)
            pending = [f for f in admin.call("stats")["faults_pending"] if f["route"] == c.template["route"]]
            if pending:
                admin.call("faults/clear", {})
            assert not pending, f"{c.name}: the echo fault was not used: {texts}"
            outputs += [(c.name, label, text) for label, text in texts.items()]
            # What the broker sent (assertions, bearer tokens), read now: the log keeps 500 requests.
            requests = admin.call(f"requests?route={c.template['route']}")
            needles.add_from_provider([], requests, [c.id])
            sent[c.name] = json.dumps(requests)
    finally:
        logger.removeHandler(records)
        logger.setLevel(old_level)

    for c in cases:
        for name, value in c.secrets.items():
            needles.add(f"{c.name} secret {name}", value, c.id)
    needles.add_from_provider(admin.call("echoes")[echoes_from:], [], [])
    # The control: the needles must find each secret of a case in what the broker sent for it,
    # or a clean result would prove nothing.
    blind = [
        f"{c.name} secret {n}"
        for c in cases
        for n in c.secrets
        if not any(h.startswith(f"{c.name} secret {n} (") for h in needles.find(sent[c.name]))
    ]
    assert not blind, f"the needles miss secrets in the requests sent: {blind[:5]}"
    hits = [f"{name} {label}: {h}" for name, label, text in outputs for h in needles.find(text)]
    print(summary("python", len(cases), len(outputs), len(hits)))
    for h in hits[:20]:
        print(f"  {h}")
    if hits:
        pytest.fail(f"{len(hits)} leaks, first: {'; '.join(hits[:5])}")
