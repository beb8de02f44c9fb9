"""The language-neutral conformance scenarios of ``tests/scenarios.json`` (format: tests/README.md),
run through the Python package; one test per scenario. ``core/tests/scenarios.rs`` is the Rust
runner of the same list.

The scenarios need both servers *and* the ``cert-client`` key pair that
``tests/harness/up.mjs`` registers on the provider, so this module starts its own up.mjs
unless ``TB_TEST_PROVIDER``, ``TB_TEST_ISSUER`` and ``TB_TEST_KEYS`` are all set. Provider
scenarios reset the provider and count its requests globally: they run one after another, and
nothing else may use the same provider meanwhile (pytest runs single-process here).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import REPO, Admin, memory_config

from tokenbroker import AccessToken, Broker, OAuthError, TokenBrokerError

SCENARIOS: list[dict[str, Any]] = json.loads((REPO / "tests/scenarios.json").read_text())
ENV_KEYS = ("TB_TEST_PROVIDER", "TB_TEST_ISSUER", "TB_TEST_KEYS")


@dataclass(frozen=True)
class Servers:
    provider: str
    issuer: str
    keys: str

    def fill(self, value: Any) -> Any:
        """Replaces ${PROVIDER}, ${ISSUER} and ${KEYS} in every string of ``value``."""
        if isinstance(value, str):
            return (
                value.replace("${PROVIDER}", self.provider)
                .replace("${ISSUER}", self.issuer)
                .replace("${KEYS}", self.keys)
            )
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    """The servers of TB_TEST_* when all three are set, else a private up.mjs instance."""
    env = [os.environ.get(k) for k in ENV_KEYS]
    if all(env):
        yield Servers(*env)  # type: ignore[arg-type]
        return
    if not (REPO / "tests/oidc/node_modules/oidc-provider").is_dir():
        pytest.fail("tests/oidc/node_modules is missing: run tests/harness/setup.sh first")
    # up.mjs stops both servers (and removes its keys dir) when its stdin pipe closes.
    proc = subprocess.Popen(
        ["node", str(REPO / "tests/harness/up.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().decode()
    try:
        info = json.loads(line)
        started = Servers(info["provider"], info["issuer"], info["keys_dir"])
    except (ValueError, KeyError):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"tests/harness/up.mjs printed {line!r} instead of its JSON line") from None
    try:
        yield started
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(servers: Servers, scenario: dict[str, Any]) -> list[str]:
    """Runs one scenario; returns what differed from its ``expect`` (empty: passed)."""
    admin = Admin(servers.provider)
    if scenario["server"] == "provider":
        admin.call("reset", {})
    config = memory_config(servers.fill(scenario["profile"]))
    tokens: list[AccessToken] = []
    last_error: TokenBrokerError | None = None
    broker: Broker | None = None
    build_error: TokenBrokerError | None = None
    try:
        broker = Broker(config)
    except TokenBrokerError as e:  # a config the broker refuses: every token step fails with it
        build_error = e
    try:
        for step in scenario["steps"]:
            if "fault" in step:
                admin.call("faults", step["fault"])
            elif "admin_config" in step:
                admin.call("config", step["admin_config"])
            elif "token" in step:
                force = bool(step["token"].get("force_refresh", False))
                try:
                    if broker is None:
                        assert build_error is not None
                        raise build_error
                    tokens.append(broker.token("p", force_refresh=force))
                    last_error = None
                except TokenBrokerError as e:
                    last_error = e
            else:
                return [f"unknown step {json.dumps(step)}"]
    finally:
        if broker is not None:
            broker.close()

    expect: dict[str, Any] = scenario.get("expect", {})
    problems: list[str] = []
    kind = expect.get("error_kind")
    if kind is not None:
        if last_error is None:
            problems.append(f"expected a {kind} error, the last token() succeeded")
        elif last_error.kind != kind:
            problems.append(
                f"expected error_kind {kind}, got {last_error.kind} "
                f"({type(last_error).__name__}: {last_error})"
            )
        code = expect.get("oauth_error")
        if code is not None:
            got = last_error.error if isinstance(last_error, OAuthError) else None
            if got != code:
                problems.append(f"expected oauth_error {code}, got {got!r}")
    elif last_error is not None:
        problems.append(f"unexpected {last_error.kind} error ({type(last_error).__name__}: {last_error})")

    last = tokens[-1] if tokens else None
    if "token_type" in expect:
        got_type = last.token_type if last else None
        if got_type != expect["token_type"]:
            problems.append(f"token_type {got_type!r}, expected {expect['token_type']!r}")
    if "expires_in_approx" in expect:
        approx = expect["expires_in_approx"]
        left = round(last.expires_in) if last else None
        if left is None or abs(left - approx) > 60:
            problems.append(f"expires in {left}s, expected {approx}s ± 60s")
    if "same_token" in expect:
        same = tokens[0].access_token == tokens[-1].access_token if tokens else None
        if same != expect["same_token"]:
            problems.append(f"same_token {same} ({len(tokens)} token(s)), expected {expect['same_token']}")
    if "provider_requests" in expect:
        seen = admin.call("stats")["requests"]
        for route, n in expect["provider_requests"].items():
            got_n = seen.get(route, 0)
            if got_n != n:
                problems.append(f"provider_requests[{route}] = {got_n}, expected {n}")
    return problems


def test_scenario_list() -> None:
    ids = [s["id"] for s in SCENARIOS]
    assert len(ids) >= 20, f"tests/scenarios.json has only {len(ids)} scenarios"
    assert len(set(ids)) == len(ids), "duplicate scenario ids"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_scenario(servers: Servers, scenario: dict[str, Any]) -> None:
    problems = run(servers, scenario)
    if problems:
        pytest.fail(f"scenario {scenario['id']}:\n  " + "\n  ".join(problems), pytrace=False)
