"""Threads, asyncio, fork, a second process, and Ctrl-C."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Admin

import tokenbroker
from tokenbroker import AccessToken, Broker, TokenBrokerError


def test_100_threads_on_a_cold_cache_make_one_request(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=200, count=1)
    barrier = threading.Barrier(100)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            tokens.append(broker.token("p").access_token)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(tokens) == 100 and len(set(tokens)) == 1
    assert admin.requests_by(client_id) == 1


def test_50_asyncio_tasks_make_one_request(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)

    async def main() -> list[AccessToken]:
        return list(await asyncio.gather(*(broker.token_async("p") for _ in range(50))))

    tokens = asyncio.run(main())
    assert len({t.access_token for t in tokens}) == 1
    assert admin.requests_by(client_id) == 1
    # Warm: answered from memory, still awaitable.
    assert asyncio.run(main())[0].access_token == tokens[0].access_token
    assert admin.requests_by(client_id) == 1


def test_token_async_does_not_block_the_loop(alvys: Any, admin: Admin) -> None:
    config, _, _ = alvys()
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=500, count=1)

    async def main() -> int:
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(ticker())
        await broker.token_async("p")
        stop = True
        await task
        return ticks

    assert asyncio.run(main()) >= 20


def test_token_async_needs_a_running_loop(alvys: Any) -> None:
    broker = Broker(alvys()[0])
    with pytest.raises(RuntimeError, match="no running event loop"):
        broker.token_async("p")


def test_cancelled_token_async_leaves_the_fetch_for_others(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=300, count=1)

    async def main() -> None:
        task = asyncio.ensure_future(broker.token_async("p"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The loop closes before the fetch ends: its completion must be dropped quietly.

    asyncio.run(main())
    time.sleep(0.5)
    assert broker.cached_token("p") is not None
    assert admin.requests_by(client_id) == 1


def test_forked_child_gets_tokens(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    parent = broker.token("p")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            same = broker.token("p")
            fresh = broker.token("p", force_refresh=True)
            code = 0 if same.access_token == parent.access_token != fresh.access_token else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert admin.requests_by(client_id) == 2
    # The parent's runtime still works after the fork.
    assert broker.token("p", force_refresh=True).access_token != parent.access_token


_shared_broker: Broker | None = None


def _inherited_token(_: int) -> str:
    assert _shared_broker is not None
    return _shared_broker.token("p", force_refresh=True).access_token


def test_multiprocessing_fork_pool(alvys: Any, admin: Admin) -> None:
    global _shared_broker
    config, client_id, _ = alvys()
    _shared_broker = Broker(config)
    _shared_broker.token("p")  # start the runtime and the pool in the parent first
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        tokens = pool.map(_inherited_token, range(4))
    _shared_broker = None
    assert len(tokens) == 4 and all(tokens)
    assert admin.requests_by(client_id) >= 2


def test_second_process_reads_the_shared_file_cache(
    alvys: Any, admin: Admin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("TOKENBROKER_CACHE_KEY", key)
    config, client_id, _ = alvys()
    cache_dir = tmp_path / "cache"
    config["cache"] = {"store": "file", "path": str(cache_dir)}
    first = Broker(config).token("p")
    assert admin.requests_by(client_id) == 1
    script = (
        "import json, sys, tokenbroker\n"
        "b = tokenbroker.Broker(json.loads(sys.argv[1]))\n"
        "t = b.token('p')\n"
        "print(json.dumps({'token': t.access_token, 'stats': b.stats()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(config)],
        env={**os.environ, "TOKENBROKER_CACHE_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["token"] == first.access_token
    assert result["stats"]["shared_hits"] == 1 and result["stats"]["fetches"] == 0
    assert admin.requests_by(client_id) == 1
    # On disk it is encrypted: the token does not appear in any cache file.
    for f in cache_dir.rglob("*"):
        if f.is_file():
            assert first.access_token.encode() not in f.read_bytes()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs main thread")
def test_ctrl_c_interrupts_a_blocking_token_call(alvys: Any, admin: Admin) -> None:
    config, client_id, _ = alvys()
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=1500, count=1)
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        broker.token("p")
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 1.0, elapsed
    # The fetch kept running in the core; it lands in memory for the next caller.
    token = broker.token("p")
    assert token.access_token
    assert admin.requests_by(client_id) == 1


def test_ctrl_c_via_os_kill(alvys: Any, admin: Admin) -> None:
    config, _, _ = alvys()
    broker = Broker(config)
    admin.fault(route="alvys.token", kind="delay", delay_ms=3000, count=1)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        broker.token("p")
    timer.join()
    assert time.monotonic() - start < 1.0


def test_token_async_raises_the_typed_error(alvys: Any, admin: Admin) -> None:
    config, _, _ = alvys()
    config["profiles"]["p"]["client_secret"] = "wrong-async-secret"
    broker = Broker(config)

    async def main() -> None:
        with pytest.raises(tokenbroker.OAuthError) as info:
            await broker.token_async("p")
        assert info.value.status == 401
        assert "wrong-async-secret" not in str(info.value)
        with pytest.raises(tokenbroker.ConfigError):
            await broker.token_async("nope")

    asyncio.run(main())


def test_forks_while_core_threads_log_never_hang_the_child(alvys: Any, admin: Admin) -> None:
    """A fork while runtime threads push log events (and the forwarder waits for them) must
    leave the child a usable log queue: a child that hangs in the fork hooks fails here."""
    config, _, _ = alvys(client_secret="wrong")  # every call fails and logs a warning
    broker = Broker(config)
    logger = logging.getLogger("tokenbroker")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    stop = threading.Event()

    def noisy() -> None:
        while not stop.is_set():
            with contextlib.suppress(TokenBrokerError):
                broker.token("p", force_refresh=True)

    threads = [threading.Thread(target=noisy) for _ in range(2)]
    for t in threads:
        t.start()
    hung = []
    try:
        for _ in range(30):
            time.sleep(0.02)
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                os._exit(0)
            deadline = time.monotonic() + 10
            while os.waitpid(pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    hung.append(pid)
                    break
                time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
        logger.setLevel(old_level)
    assert not hung, f"{len(hung)} of 30 forked children hung in the fork hooks"


_FORKING_PARENT = """
import contextlib, json, logging, os, sys, threading
from tokenbroker import Broker, TokenBrokerError

logging.getLogger("tokenbroker").setLevel(logging.DEBUG)
sys.setswitchinterval(1e-6)  # hand the GIL over at every chance, the fork hooks' included
broker = Broker(json.loads(sys.argv[1]))
stop = threading.Event()

def noisy():
    while not stop.is_set():
        with contextlib.suppress(TokenBrokerError):
            broker.token("p", force_refresh=True)

threads = [threading.Thread(target=noisy) for _ in range(2)]
for t in threads:
    t.start()
for _ in range(int(sys.argv[2])):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
stop.set()
for t in threads:
    t.join()
print("done")
"""


def test_forks_while_core_threads_log_never_hang_the_parent(alvys: Any) -> None:
    """The parent runs Python fork hooks (logging's own among them) after `fork()`, where
    another thread may take the GIL: a log forwarder that then waits for the queue lock the
    forking thread still holds deadlocks the parent. Run in a subprocess so a hang is a
    failure, not a stuck suite."""
    config, _, _ = alvys(client_secret="wrong")  # every call fails and logs a warning
    try:
        done = subprocess.run(
            [sys.executable, "-c", _FORKING_PARENT, json.dumps(config), "300"],
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the forking parent hung in the fork hooks")
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]
