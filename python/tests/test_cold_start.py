"""A new process that finds its token in the file cache loads nothing but tokenbroker.

`import tokenbroker` + ``Broker(config_file=…)`` + ``token()`` is the whole of many short
scripts' work, so every standard module it imports is paid by each of them (``typing``,
``datetime``, ``enum``, ``re``, ``logging``… cost more than the rest of the package). The
check compares the child's ``sys.modules`` before and after; no timing.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Admin

from tokenbroker import Broker

# Prints the modules loaded by the import, then those loaded by the import and the token call.
COLD = (
    "import sys\n"
    "before = set(sys.modules)\n"
    "import tokenbroker\n"
    "imported = set(sys.modules) - before\n"
    "broker = tokenbroker.Broker(config_file=sys.argv[1])\n"
    "assert broker.token('p').access_token\n"
    "print(' '.join(sorted(imported)))\n"
    "print(' '.join(sorted(set(sys.modules) - before)))\n"
)
# Not even `__future__`: the package's annotations are strings, because `from __future__
# import annotations` imports that module at run time (about 0.3 ms of a new process).
OWN = {"tokenbroker", "tokenbroker._errors", "tokenbroker._tokenbroker"}


# Prints how many threads named as the core's runtime threads (`tokenbroker`) the process has
# once its token is in hand.
THREADS = (
    "import sys, tokenbroker\n"
    "assert tokenbroker.Broker(config_file=sys.argv[1]).token('p').access_token\n"
    "import os\n"
    "names = [open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')]\n"
    "print(names.count('tokenbroker'))\n"
)


@pytest.fixture
def cached_config(
    alvys: Any, admin: Admin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A config file with a file cache (its key in the environment) that holds `p`'s token,
    and `p`'s client id."""
    monkeypatch.setenv("TOKENBROKER_CACHE_KEY", base64.b64encode(os.urandom(32)).decode())
    config, client_id, _ = alvys()
    profile = config["profiles"]["p"]
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[cache]\nstore = "file"\npath = "{tmp_path / "cache"}"\n\n[profiles.p]\n'
        + "".join(f'{k} = "{v}"\n' for k, v in profile.items())
    )
    cfg.chmod(0o600)
    with Broker(config_file=str(cfg)) as broker:
        broker.token("p")  # fills the file cache
    assert admin.requests_by(client_id) == 1
    return cfg, client_id


def test_cached_token_in_a_new_process_imports_no_standard_module(
    cached_config: tuple[Path, str], admin: Admin
) -> None:
    cfg, client_id = cached_config
    out = subprocess.run(
        [sys.executable, "-c", COLD, str(cfg)], capture_output=True, text=True, timeout=60, check=True
    )
    by_import, by_all = (set(line.split()) for line in out.stdout.splitlines())
    assert admin.requests_by(client_id) == 1, "the new process fetched instead of reading the cache"
    assert sorted(by_import - OWN) == []
    assert sorted(by_all - OWN) == []


def test_cached_token_in_a_new_process_is_read_on_the_calling_thread(
    cached_config: tuple[Path, str], admin: Admin
) -> None:
    """The file store is read on the thread that called `token()`: the process never starts the
    core's runtime, whose threads are named `tokenbroker`."""
    cfg, client_id = cached_config
    out = subprocess.run(
        [sys.executable, "-c", THREADS, str(cfg)], capture_output=True, text=True, timeout=60, check=True
    )
    assert admin.requests_by(client_id) == 1
    assert out.stdout.strip() == "0", "the lookup went to the core's runtime"
