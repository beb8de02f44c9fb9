"""Cold-start benchmark driver (stdlib only; bench/cold/run.sh builds, installs and calls it).

1. A new process with the token already in the shared (file) cache, `issuer` profile: the
   CLI, Python and Node packages against their peers and the bare start-up floors, timed in
   interleaved rounds (bench/cold/interleave.py: median, p90 and the paired excess over the
   floor of BENCH_COLD_RUNS rounds), with the requests the test provider counted during each
   command's runs.
2. The first call of a new client object in one process (discovery + token request):
   bench/cold/first_call.py and bench/cold/first_call.mjs.

Environment (set by run.sh): TB_TEST_PROVIDER (the test provider's URL), TB_BIN (release
`tokenbroker`), TB_PY (the interpreter of python/.venv), BENCH_COLD_LOCAL (bench/cold-local,
whose node/node_modules has the peers and a link to the node/ package), BENCH_COLD_RUNS
(default 30).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from interleave import interleaved
from provider_admin import PROVIDER, new_client, total_requests

HERE = Path(__file__).resolve().parent
TB_BIN = os.environ["TB_BIN"]
TB_PY = os.environ["TB_PY"]
LOCAL = Path(os.environ["BENCH_COLD_LOCAL"])
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "30"))
WARMUP = 3
SCOPE = "read"


def issuer(words: str) -> str:
    return f"{PROVIDER}/plain/{words}.t{secrets.token_hex(4)}"


WORK = Path(tempfile.mkdtemp(prefix="tb-cold-bench-"))
os.chmod(WORK, 0o700)
CACHE_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
PY_ENV = {"PYTHONPATH": str(LOCAL / "python"), "PYTHONDONTWRITEBYTECODE": "1"}
BASE_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith("TOKENBROKER_") and not k.startswith("PYTHON")
}


def tb_config(name: str, iss: str, cid: str, secret: str) -> Path:
    """A config file with a private file cache and one `issuer` profile `p`."""
    d = WORK / name
    d.mkdir()
    cfg = d / "config.toml"
    cfg.write_text(
        f'[cache]\nstore = "file"\npath = "{d / "cache"}"\n\n'
        f'[profiles.p]\nprovider = "oidc"\ngrant = "client_credentials"\nissuer = "{iss}"\n'
        f'client_id = "{cid}"\nclient_secret = "{secret}"\nscopes = ["{SCOPE}"]\n'
    )
    cfg.chmod(0o600)
    return cfg


def timed(cmds: list[tuple[str, list[str]]], env: dict[str, str], cwd: Path | None = None,
          floor: str | None = None) -> list[dict]:
    """Interleaved rounds of new processes (bench/cold/interleave.py), requests counted by the
    provider; `floor` labels the bare start-up the others are compared with."""
    return interleaved(cmds, {**BASE_ENV, **env}, cwd, runs=RUNS, warmup=WARMUP, floor=floor,
                       requests=total_requests)


def check(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Runs once (this fills the cache) and fails loudly if the command fails."""
    res = subprocess.run(argv, env={**BASE_ENV, **env}, cwd=cwd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"{argv[:3]}... failed ({res.returncode}): {res.stderr[-2000:]}")
    return res.stdout


# ------------------------------------------------------------------ 1. new process, cached


def cli_rows() -> list[dict]:
    cid, secret = new_client("cold-cli")
    cfg = tb_config("cli", issuer("max-age-3600"), cid, secret)
    env = {"TOKENBROKER_CACHE_KEY": CACHE_KEY}
    tb = [TB_BIN, "--config", str(cfg), "token", "-p", "p"]
    check(tb, env)
    ccid, csecret = new_client("cold-curl")
    curl = ["curl", "-sS", "-f", "-o", "/dev/null", "-u", f"{ccid}:{csecret}",
            "-d", "grant_type=client_credentials", "-d", f"scope={SCOPE}", f"{PROVIDER}/generic/token"]
    return timed([("tokenbroker token -p p (file cache hit)", tb),
                  ("curl: POST to the token endpoint (a real fetch)", curl)], env)


MSAL_PY = """
import json, msal, msal_extensions, requests, sys
authority, cid, secret, path = sys.argv[1:5]
real = authority.split('/plain/')[0].replace('https://', 'http://')
fake = real.replace('http://', 'https://')
class Http(requests.Session):
    def request(self, method, url, *a, **kw):
        if url.startswith(fake):
            url = real + url[len(fake):]
        resp = super().request(method, url, *a, **kw)
        if url.endswith('/.well-known/openid-configuration'):
            meta = json.loads(resp.content.replace(real.encode(), fake.encode()))
            meta.setdefault('authorization_endpoint', authority + '/authorize')
            resp._content = json.dumps(meta).encode()
        return resp
cache = msal_extensions.PersistedTokenCache(msal_extensions.FilePersistence(path))
app = msal.ConfidentialClientApplication(cid, client_credential=secret, oidc_authority=authority,
    http_client=Http(), token_cache=cache)
r = app.acquire_token_for_client(scopes=['read'])
assert 'access_token' in r, r
if len(sys.argv) > 5: print(r.get('token_source'))
"""


def python_rows() -> list[dict]:
    py = TB_PY
    cid, secret = new_client("cold-py")
    cfg = tb_config("py", issuer("max-age-3600"), cid, secret)
    env = {**PY_ENV, "TOKENBROKER_CACHE_KEY": CACHE_KEY}
    tb = [py, "-c", f"import tokenbroker; tokenbroker.Broker(config_file={str(cfg)!r}).token('p')"]
    check(tb, env)
    mcid, msecret = new_client("cold-msal-py")
    authority = issuer("max-age-3600").replace("http://", "https://")
    mdir = WORK / "msal-py"
    mdir.mkdir()
    msal_cmd = [py, "-c", MSAL_PY, authority, mcid, msecret, str(mdir / "token_cache.json")]
    check(msal_cmd, env)
    source = check([*msal_cmd, "show"], env).strip()
    if source != "cache":
        sys.exit(f"msal did not answer from its persistent cache: {source}")
    return timed([("python -c pass", [py, "-c", "pass"]),
                  ("tokenbroker: import + Broker(config_file) + token (file cache hit)", tb),
                  ("msal + msal-extensions FilePersistence (cache hit)", msal_cmd)], env,
                 floor="python -c pass")


SPLIT_PY = """
import resource, sys, time
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
cfg = sys.argv[1]
t0, c0, f0 = time.perf_counter(), time.process_time(), faults()
import tokenbroker
t1, f1 = time.perf_counter(), faults()
b = tokenbroker.Broker(config_file=cfg)
t2, f2 = time.perf_counter(), faults()
b.token("p")
t3, c3, f3 = time.perf_counter(), time.process_time(), faults()
print(t1 - t0, t2 - t1, t3 - t2, c3 - c0, f1 - f0, f2 - f1, f3 - f2)
"""

SPLIT_NODE = """
const faults = () => process.resourceUsage().minorPageFault
const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage(); const f0 = faults()
const { Broker } = require('tokenbroker'); const t1 = process.hrtime.bigint(); const f1 = faults()
const b = Broker.fromConfig(process.argv[require.main ? 2 : 1]); const t2 = process.hrtime.bigint(); const f2 = faults()
b.token('p').then(() => {
  const t3 = process.hrtime.bigint(); const c = process.cpuUsage(c0); const f3 = faults()
  console.log([t1 - t0, t2 - t1, t3 - t2].map((d) => Number(d) / 1e9).join(' '), (c.user + c.system) / 1e6,
    f1 - f0, f2 - f1, f3 - f2)
})
"""


def split_rows(argv: list[str], env: dict[str, str], load: str, broker: str,
               cwd: Path | None = None) -> list[dict]:
    """Inside one new process with the token cached: the load (import/require), the broker
    and `token()`, each step's wall time (best and median of BENCH_COLD_RUNS processes), the
    three steps together, the CPU of all three, and each step's minor page faults (median:
    they barely vary, unlike times on this VM, where a fault costs several microseconds)."""
    check(argv, env, cwd)
    runs = [[float(x) for x in check(argv, env, cwd).split()] for _ in range(RUNS)]
    for r in runs:
        r.insert(3, r[0] + r[1] + r[2])
    labels = [load, broker, "token() (file cache hit)", "the three steps", "CPU of all three"]
    rows = []
    for i, label in enumerate(labels):
        faults = statistics.median(r[5 + i] for r in runs) if i < 3 else None
        rows.append({"label": label, "best_ms": min(r[i] for r in runs) * 1000,
                     "median_ms": statistics.median(r[i] for r in runs) * 1000, "faults": faults})
    return rows


def python_split_rows() -> list[dict]:
    """`split_rows` for `import tokenbroker`, `Broker(config_file)` and `token()`."""
    cid, secret = new_client("cold-py-split")
    cfg = tb_config("py-split", issuer("max-age-3600"), cid, secret)
    env = {**PY_ENV, "TOKENBROKER_CACHE_KEY": CACHE_KEY}
    return split_rows([TB_PY, "-c", SPLIT_PY, str(cfg)], env, "import tokenbroker", "Broker(config_file)")


def node_program(name: str, source: str, from_file: bool) -> list[str]:
    """`node` running `source`: under `-e`, or (`from_file`) as the file `name`.js beside the
    peers in bench/cold-local/node, as an application runs. Scripts find their arguments at
    `process.argv[require.main ? 2 : 1]`, which holds both ways."""
    if not from_file:
        return ["node", "-e", source]
    path = LOCAL / "node" / f"cold-{name}.js"
    path.write_text(source + "\n")
    return ["node", str(path)]


def node_split_rows(from_file: bool = False) -> list[dict]:
    """`split_rows` for `require('tokenbroker')`, `Broker.fromConfig` and `token()`."""
    how = "file" if from_file else "eval"
    cid, secret = new_client(f"cold-node-split-{how}")
    cfg = tb_config(f"node-split-{how}", issuer("max-age-3600"), cid, secret)
    env = {"TOKENBROKER_CACHE_KEY": CACHE_KEY}
    argv = [*node_program("split", SPLIT_NODE, from_file), str(cfg)]
    return split_rows(argv, env, "require('tokenbroker')", "Broker.fromConfig", LOCAL / "node")


BIG_ENTRIES = 3000
TOKEN_PY = """
import sys, time, tokenbroker
b = tokenbroker.Broker(config_file=sys.argv[1])
t = time.perf_counter()
b.token("p")
print(time.perf_counter() - t)
"""


def python_big_cache_rows() -> list[dict]:
    """`token()` in a new Python process (a file cache hit: the store opened, the entry read),
    the best of BENCH_COLD_RUNS processes, with the cache holding its one entry, then with
    BIG_ENTRIES more (copies under other names: listed by a sweep, never opened by a read)."""
    cid, secret = new_client("cold-py-big")
    cfg = tb_config("py-big", issuer("max-age-3600"), cid, secret)
    env = {**PY_ENV, "TOKENBROKER_CACHE_KEY": CACHE_KEY}
    argv = [TB_PY, "-c", TOKEN_PY, str(cfg)]
    check(argv, env)

    def best() -> float:
        return min(float(check(argv, env)) * 1000 for _ in range(RUNS))

    one = best()
    tokens = cfg.parent / "cache" / "tokens"
    entry = next(tokens.glob("*.bin"))
    for i in range(BIG_ENTRIES):
        shutil.copyfile(entry, tokens / f"{i:064x}.bin")
    many = best()
    return [{"label": "1 entry", "best_ms": one}, {"label": f"{BIG_ENTRIES + 1} entries", "best_ms": many}]


MSAL_NODE = """
const { ConfidentialClientApplication } = require('@azure/msal-node')
const { FilePersistence, PersistenceCachePlugin } = require('@azure/msal-node-extensions')
const [tokenUrl, cid, secret, path, show] = process.argv.slice(require.main ? 2 : 1)
const host = 'login.bench.invalid'
FilePersistence.create(path).then(async (persistence) => {
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: cid, clientSecret: secret, authority: `https://${host}/tenant`, knownAuthorities: [host],
      authorityMetadata: JSON.stringify({ issuer: `https://${host}/tenant`, token_endpoint: tokenUrl,
        authorization_endpoint: `https://${host}/tenant/authorize`, end_session_endpoint: `https://${host}/tenant/logout`,
        jwks_uri: `https://${host}/tenant/keys` }),
      cloudDiscoveryMetadata: JSON.stringify({ tenant_discovery_endpoint: `https://${host}/tenant/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1', metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }] }),
    },
    cache: { cachePlugin: new PersistenceCachePlugin(persistence) },
  })
  const r = await app.acquireTokenByClientCredential({ scopes: ['read'] })
  if (show) console.log(r.fromCache ? 'cache' : 'network')
})
"""


def node_rows(from_file: bool = False) -> list[dict]:
    """Node's new processes, every program under `-e` or (`from_file`) each from its own file,
    whose floor is then an empty file: an application is a file, and loading it readies the
    CommonJS loader that a `-e` program's first `require` must set up."""
    cwd = LOCAL / "node"
    how = "file" if from_file else "eval"
    cid, secret = new_client(f"cold-node-{how}")
    cfg = tb_config(f"node-{how}", issuer("max-age-3600"), cid, secret)
    env = {"TOKENBROKER_CACHE_KEY": CACHE_KEY}
    tb_source = f"const {{ Broker }} = require('tokenbroker'); Broker.fromConfig({str(cfg)!r}).token('p')"
    tb = node_program("tokenbroker", tb_source, from_file)
    check(tb, env, cwd)
    mcid, msecret = new_client(f"cold-msal-node-{how}")
    mdir = WORK / f"msal-node-{how}"
    mdir.mkdir()
    msal_cmd = [*node_program("msal-node", MSAL_NODE, from_file), f"{PROVIDER}/generic/token", mcid,
                msecret, str(mdir / "cache.json")]
    check(msal_cmd, env, cwd)
    source = check([*msal_cmd, "show"], env, cwd).strip()
    if source != "cache":
        sys.exit(f"msal-node did not answer from its persistent cache: {source}")
    # Node's CommonJS loader does its first resolve, read and compile on a script's first
    # `require`, which `node -e ''` never makes: an empty package shows what any package pays.
    empty = cwd / "node_modules" / "bench-empty-package"
    empty.mkdir(exist_ok=True)
    (empty / "package.json").write_text('{"name": "bench-empty-package", "main": "index.js"}\n')
    (empty / "index.js").write_text("module.exports = {}\n")
    floor = "node empty.js" if from_file else "node -e ''"
    empty_pkg = "require('bench-empty-package')"
    package = f"node empty-package.js: {empty_pkg}" if from_file else f'node -e "{empty_pkg}"'
    return timed([(floor, node_program("empty", "", from_file)),
                  (f"{package} (an empty package)", node_program("empty-package", empty_pkg, from_file)),
                  ("tokenbroker: require + Broker.fromConfig + token (file cache hit)", tb),
                  ("@azure/msal-node + msal-node-extensions FilePersistence (cache hit)", msal_cmd)],
                 env, cwd, floor=floor)


# ------------------------------------------------------------------ 2. first call in-process


def first_call(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> list[dict]:
    out = check(argv, {**env, "TB_TEST_PROVIDER": PROVIDER, "BENCH_COLD_RUNS": str(RUNS)}, cwd)
    return json.loads(out.strip().splitlines()[-1])


def refuse_debug_python() -> None:
    """Stops when python/.venv holds a debug build of the extension (what `make test` leaves
    there): `BENCH_COLD_NO_BUILD=1` after it would time that build."""
    probe = "import tokenbroker._tokenbroker as m; print(m._debug_build)"
    if check([TB_PY, "-c", probe], PY_ENV).strip() != "False":
        sys.exit("python/.venv has a debug build of the extension: run bench/cold/run.sh without "
                 "BENCH_COLD_NO_BUILD (it builds the release one)")


def refuse_debug_node() -> None:
    """Stops when node/ holds a debug build of the addon (what `make test-node` leaves there):
    a debug build carries DWARF sections, which the release profile leaves out."""
    for addon in (HERE.parent.parent / "node").glob("tokenbroker.*.node"):
        sections = subprocess.run(["readelf", "-S", "-W", str(addon)], capture_output=True, text=True,
                                  check=True).stdout
        if ".debug_info" in sections:
            sys.exit(f"{addon} is a debug build: run bench/cold/run.sh without BENCH_COLD_NO_BUILD "
                     "(it builds the release one)")


def main() -> None:
    refuse_debug_python()
    refuse_debug_node()
    load = os.getloadavg()
    groups = {
        "cli": cli_rows,
        "python": python_rows,
        "node": node_rows,
        "node_file": lambda: node_rows(from_file=True),
        "python_split": python_split_rows,
        "python_big_cache": python_big_cache_rows,
        "node_split": node_split_rows,
        "node_split_file": lambda: node_split_rows(from_file=True),
        "python_first": lambda: first_call([TB_PY, str(HERE / "first_call.py")], PY_ENV),
        "node_first": lambda: first_call(
            ["node", str(HERE / "first_call.mjs")], {}, LOCAL / "node"
        ),
    }
    chosen = os.environ.get("BENCH_COLD_GROUPS", ",".join(groups)).split(",")
    results: dict[str, object] = {"load_before": load, "runs": RUNS, "warmup": WARMUP}
    for name in chosen:
        results[name] = groups[name]()
    results["load_after"] = os.getloadavg()
    (LOCAL / "results.json").write_text(json.dumps(results, indent=2))
    print(f"load average before {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, "
          f"after {results['load_after'][0]:.2f}; {RUNS} runs after {WARMUP} warm-up")
    for group in [g for g in ("cli", "python", "node", "node_file") if g in results]:
        print(f"\n{group}: new process, token cached\n| command | median | p90 | over the floor (paired median) | CPU (user+sys, mean) | requests / runs |\n|---|---|---|---|---|---|")
        for r in results[group]:
            over = "" if r["over_floor_ms"] is None else f"{r['over_floor_ms']:+.1f} ms"
            print(f"| {r['label']} | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | {over} | {r['cpu_ms']:.1f} ms | {r['requests']} / {r['runs']} |")
    for group in [g for g in ("python_split", "node_split", "node_split_file") if g in results]:
        print(f"\n{group}: inside one new process, token cached ({RUNS} processes)\n"
              "| step | best | median | minor page faults (median) |\n|---|---|---|---|")
        for r in results[group]:
            faults = "" if r["faults"] is None else f"{r['faults']:.0f}"
            print(f"| {r['label']} | {r['best_ms']:.2f} ms | {r['median_ms']:.2f} ms | {faults} |")
    if "python_big_cache" in results:
        print(f"\npython_big_cache: token() in a new process, file cache hit (best of {RUNS})\n| cache | best |\n|---|---|")
        for r in results["python_big_cache"]:
            print(f"| {r['label']} | {r['best_ms']:.2f} ms |")
    for group in [g for g in ("python_first", "node_first") if g in results]:
        print(f"\n{group}: first call on a new client (discovery + token)\n| library | median | p90 | CPU of the process (mean) | requests / calls |\n|---|---|---|---|---|")
        for r in results[group]:
            print(f"| {r['label']} | {r['median_ms']:.2f} ms | {r['p90_ms']:.2f} ms | {r['cpu_ms']:.2f} ms | {r['requests']} / {r['calls']} |")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
