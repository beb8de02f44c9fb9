"""In-process A/B of Node's three steps (`require`, `Broker.fromConfig`, `token()`) between builds
of the package (docs/benchmarks.md, "Re-taken on main, 2026-12-04 03:21–04:47").

    python3 bench/cold/ab_steps.py copy DIR          # node/'s package as built now, into DIR
    python3 bench/cold/ab_steps.py run N CONFIG DIR...  [--eval]

`copy` takes what a process loads (package.json, dist/index.js, the .node binary). `run` starts
N processes per copy, alternating the order each round, each requiring its copy by path from a
script file (`--eval`: under `node -e`) and timing the three steps against CONFIG, whose file
cache must already hold profile `p`'s token (run once to fill it; the key from the
environment, e.g. TOKENBROKER_CACHE_KEY). Prints each copy's medians and minor page faults.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from pathlib import Path

NODE = Path(__file__).resolve().parents[2] / "node"
STEPS = """
const faults = () => process.resourceUsage().minorPageFault
const [pkg, cfg] = process.argv.slice(require.main ? 2 : 1)
const t0 = process.hrtime.bigint(); const f0 = faults()
const { Broker } = require(pkg); const t1 = process.hrtime.bigint(); const f1 = faults()
const b = Broker.fromConfig(cfg); const t2 = process.hrtime.bigint(); const f2 = faults()
b.token('p').then(() => {
  const t3 = process.hrtime.bigint(); const f3 = faults()
  console.log([t1 - t0, t2 - t1, t3 - t2, t3 - t0].map((d) => Number(d) / 1e6).join(' '), f1 - f0, f2 - f1, f3 - f2)
})
"""
COLUMNS = ["require", "fromConfig", "token", "three steps"]


def copy(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "dist").mkdir(parents=True)
    shutil.copy(NODE / "package.json", dest)
    shutil.copy(NODE / "dist" / "index.js", dest / "dist")
    for binary in NODE.glob("tokenbroker.*.node"):
        shutil.copy(binary, dest)


def run(rounds: int, config: str, copies: list[str], under_eval: bool) -> None:
    script = Path(__file__).resolve().parent.parent / "cold-local" / "ab_steps.js"
    script.parent.mkdir(exist_ok=True)
    script.write_text(STEPS)
    program = ["node", "-e", STEPS] if under_eval else ["node", str(script)]
    rows: dict[str, list[list[float]]] = {c: [] for c in copies}
    for i in range(rounds):
        for c in copies if i % 2 else reversed(copies):
            out = subprocess.run([*program, str(Path(c).resolve()), config], capture_output=True,
                                 text=True, check=True)
            rows[c].append([float(x) for x in out.stdout.split()])
    for c, runs in rows.items():
        cols = list(zip(*runs))
        times = " ".join(f"{name} {statistics.median(col):.3f}" for name, col in zip(COLUMNS, cols))
        faults = " ".join(f"{statistics.median(col):.0f}" for col in cols[4:])
        print(f"{c}: {times} ms; faults {faults}")


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "copy":
        copy(Path(args[1]))
    elif len(args) >= 4 and args[0] == "run":
        under_eval = "--eval" in args
        rest = [a for a in args[1:] if a != "--eval"]
        run(int(rest[0]), rest[1], rest[2:], under_eval)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
