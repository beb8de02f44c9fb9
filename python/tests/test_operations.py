"""The package against api/operations.json: every operation, its options and defaults, its
probes, and an ``_async`` twin for every I/O operation that behaves like the blocking one.

Adding an operation to the JSON without adding it here (and to the stub) fails these tests.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

import tokenbroker
from tokenbroker import Broker, TokenBrokerError
from tokenbroker._tokenbroker import BrokerBase

SPEC = json.loads((REPO / "api/operations.json").read_text())
OPERATIONS: list[dict[str, Any]] = SPEC["operations"]
IO_OPERATIONS = [op for op in OPERATIONS if op["io"]]
STUB = Path(tokenbroker.__file__).with_name("_tokenbroker.pyi")


def _ids(ops: list[dict[str, Any]]) -> list[str]:
    return [op["name"] for op in ops]


def _names(op: dict[str, Any]) -> list[str]:
    """The Python names of an operation: the blocking one and, for I/O, its ``_async`` twin."""
    return [op["name"], op["name"] + "_async"] if op["io"] else [op["name"]]


def _expected(op: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    return list(op["args"]), dict(op["options"])


def _split(sig: inspect.Signature) -> tuple[list[str], dict[str, Any]]:
    """Positional parameter names (without self) and keyword-only parameters with defaults."""
    positional, options = [], {}
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            options[p.name] = p.default
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            assert p.default is inspect.Parameter.empty, f"{p.name} is positional with a default"
            positional.append(p.name)
        else:
            raise AssertionError(f"unexpected parameter {p}")
    return positional, options


def _stub_methods() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(STUB.read_text())
    (base,) = (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "BrokerBase")
    return {f.name: f for f in base.body if isinstance(f, ast.FunctionDef)}


def _stub_signature(fn: ast.FunctionDef) -> tuple[list[str], dict[str, Any]]:
    args = fn.args
    positional = [a.arg for a in args.posonlyargs + args.args if a.arg != "self"]
    assert not args.defaults, f"{fn.name}: positional parameters must not have defaults"
    options = {}
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        assert d is not None, f"{fn.name}: option {a.arg} has no default"
        options[a.arg] = ast.literal_eval(d)
    return positional, options


def test_the_spec_is_not_empty() -> None:
    # Guards the parametrised tests below against a spec that lost its operations.
    assert len(OPERATIONS) >= 17 and len(IO_OPERATIONS) >= 12 and SPEC["probes"]


@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_broker_has_the_operation_with_its_options_and_defaults(op: dict[str, Any]) -> None:
    for name in _names(op):
        method = getattr(Broker, name, None)
        assert callable(method), f"Broker.{name} is missing"
        assert _split(inspect.signature(method)) == _expected(op), f"Broker.{name}"


@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_the_native_signature_matches(op: dict[str, Any]) -> None:
    """The native methods' ``__text_signature__`` (what pyo3 generates from the Rust
    signature, or the one given where a default is not a literal)."""
    for name in _names(op):
        native = getattr(BrokerBase, name, None)
        assert native is not None, f"BrokerBase.{name} is missing"
        text = native.__text_signature__
        assert text, f"BrokerBase.{name} has no __text_signature__"
        sig = inspect.Signature.from_callable(_from_text(text))
        assert _split(sig) == _expected(op), f"BrokerBase.{name}: {text}"


def _from_text(text: str) -> Callable[..., Any]:
    """A function with the signature ``text`` (``($self, a, *, b=None)``)."""
    params = text.replace("$self", "self")
    namespace: dict[str, Any] = {}
    exec(f"def f{params}: pass", {}, namespace)
    fn: Callable[..., Any] = namespace["f"]
    return fn


@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_the_stub_declares_the_operation(op: dict[str, Any]) -> None:
    stub = _stub_methods()
    for name in _names(op):
        assert name in stub, f"_tokenbroker.pyi: BrokerBase.{name} is missing"
        assert _stub_signature(stub[name]) == _expected(op), f"_tokenbroker.pyi: {name}"


@pytest.mark.parametrize("op", IO_OPERATIONS, ids=_ids(IO_OPERATIONS))
def test_the_async_twin_is_declared_awaitable(op: dict[str, Any]) -> None:
    fn = _stub_methods()[op["name"] + "_async"]
    returns = ast.unparse(fn.returns) if fn.returns else ""
    assert returns.startswith(("Awaitable[", "asyncio.Future[", "Coroutine[")), returns
    sync = _stub_methods()[op["name"]]
    inner = returns[returns.index("[") + 1 : -1]
    assert inner.endswith(ast.unparse(sync.returns) if sync.returns else "None"), (returns, inner)


def test_profiles_is_an_alias_of_profile_names() -> None:
    broker = Broker({"cache": {"store": "memory"}, "profiles": {"b": _CC, "a": _CC}})
    assert broker.profile_names() == broker.profiles() == ["a", "b"]
    assert "alias" in (BrokerBase.profiles.__doc__ or "")


_CC = {
    "provider": "oidc",
    "issuer": "http://127.0.0.1:9/",
    "client_id": "c",
    "client_secret": "s",
    "token_url": "http://127.0.0.1:9/token",
}


@pytest.mark.parametrize("probe", SPEC["probes"], ids=[p["operation"] for p in SPEC["probes"]])
def test_probe(probe: dict[str, Any]) -> None:
    broker = Broker({"cache": {"store": "memory"}, "profiles": {"p": _CC}})
    op = next(o for o in OPERATIONS if o["name"] == probe["operation"])
    args = [probe["args"][a] for a in op["args"]]
    with pytest.raises(TokenBrokerError) as info:
        getattr(broker, op["name"])(*args)
    _assert_probe(info.value, probe)
    if op["io"]:

        async def main() -> None:
            with pytest.raises(TokenBrokerError) as info:
                await getattr(broker, op["name"] + "_async")(*args)
            _assert_probe(info.value, probe)

        asyncio.run(main())


def _assert_probe(error: TokenBrokerError, probe: dict[str, Any]) -> None:
    assert error.kind == probe["kind"]
    assert type(error) is tokenbroker._errors.BY_KIND[probe["kind"]]
    assert probe["message_contains"] in str(error)


# Arguments for calling every I/O operation and its twin the same way (each call fails the
# same way, or returns the same kind of result). A new operation must add its arguments here.
def _sample_args(broker: Broker) -> dict[str, Any]:
    return {
        "profile": "web",
        "client_id": "no-such-client",
        "metadata": {"client_name": "twins"},
        "redirect_uri": "http://127.0.0.1/callback",
        "pending": broker.begin_login("web", "http://127.0.0.1/callback"),
        "redirect_url": "http://127.0.0.1/callback?code=c&state=forged",
        "body": b"code=c&state=forged",
    }


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        value = call()
    except TokenBrokerError as e:
        return "raised", (type(e), e.kind, e.status)
    return "returned", type(value)


@pytest.mark.parametrize("op", IO_OPERATIONS, ids=_ids(IO_OPERATIONS))
def test_the_async_twin_behaves_like_the_blocking_call(op: dict[str, Any], issuer: str) -> None:
    broker = Broker(
        {
            "cache": {"store": "memory"},
            "profiles": {
                "web": {
                    "provider": "oidc",
                    "issuer": issuer,
                    "grant": "authorization_code",
                    "client_id": "oidc-web",
                    "client_secret": "oidc-web-secret",
                    "redirect_uri": "http://127.0.0.1/callback",
                }
            },
        }
    )
    samples = _sample_args(broker)
    missing = [a for a in op["args"] if a not in samples]
    assert not missing, f"add sample arguments for {missing}"
    args = [samples[a] for a in op["args"]]
    options: dict[str, Any] = {}
    if op["name"] == "login":
        options = {"open_browser": False, "timeout": 0.2, "on_url": lambda url: None}
    if op["name"] == "device_login":
        options = {"on_code": lambda code: None}
    blocking = _outcome(lambda: getattr(broker, op["name"])(*args, **options))

    async def main() -> tuple[str, Any]:
        awaitable = getattr(broker, op["name"] + "_async")(*args, **options)
        assert inspect.isawaitable(awaitable), f"{op['name']}_async returned {awaitable!r}"
        try:
            value = await awaitable
        except TokenBrokerError as e:
            return "raised", (type(e), e.kind, e.status)
        return "returned", type(value)

    assert asyncio.run(main()) == blocking


@pytest.mark.parametrize("op", OPERATIONS, ids=_ids(OPERATIONS))
def test_the_readme_table_names_the_operation_in_every_language(op: dict[str, Any]) -> None:
    rows = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("| ")]
    row = next((r for r in rows if r.split("|")[1].strip() == op["name"]), None)
    assert row is not None, f"README's operation table lacks {op['name']}"
    camel = re.sub(r"_(.)", lambda m: m.group(1).upper(), op["name"])
    expected = [f"`{op['name']}`", f"`{camel}`"]
    if op["io"]:
        expected += [f"`{op['name']}_async`", f"`{camel}Blocking`"]
    for name in expected:
        assert name in row, f"README's row for {op['name']} lacks {name}"
