"""Where `require('tokenbroker')` spends its time, module by module (docs/benchmarks.md, "Where
Node's `require` goes now").

Copies the package (`node/package.json`, `node/dist/index.js`, the `.node` binary) into a
temporary directory, adds a `process.hrtime` mark at the start of each module esbuild bundled,
then requires the copy by path from a script file in N new processes (default 40) and prints,
for each step, the median time until the next mark: `start` is Node resolving, reading and compiling the bundle,
`native` loading the addon, the others each module's top level.

    python3 bench/cold/require_marks.py [N]
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

NODE = Path(__file__).resolve().parents[2] / "node"
MODULE_START = re.compile(r'(  "lib/([a-z]+)\.js"\(exports2?, module2?\) \{\n)')
SCRIPT = """globalThis.__m = [['start', process.hrtime.bigint()]]
require(process.argv[2])
__m.push(['end', process.hrtime.bigint()])
console.log(JSON.stringify(__m.slice(0, -1).map(([name, t], i) => [name, Number(__m[i + 1][1] - t) / 1e6])))
"""


def marked_copy(dest: Path) -> None:
    (dest / "dist").mkdir()
    shutil.copy(NODE / "package.json", dest)
    for binary in NODE.glob("tokenbroker.*.node"):
        shutil.copy(binary, dest)
    bundle = (NODE / "dist" / "index.js").read_text()
    marked, count = MODULE_START.subn(
        lambda m: f'{m.group(1)}    globalThis.__m.push(["{m.group(2)}", process.hrtime.bigint()]);\n', bundle
    )
    if count == 0:
        sys.exit("no bundled module found in node/dist/index.js (run `npm run bundle` in node/)")
    (dest / "dist" / "index.js").write_text(marked)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory() as tmp:
        marked_copy(Path(tmp))
        # A script file, not `node -e`: loading it warms Node's CommonJS loader, whose first
        # use would otherwise land in `start` (about 1.7 ms more).
        script = Path(tmp) / "require.js"
        script.write_text(SCRIPT)
        steps: dict[str, list[float]] = {}
        for _ in range(runs):
            out = subprocess.run(["node", str(script), tmp], capture_output=True, text=True, check=True)
            for name, ms in json.loads(out.stdout):
                steps.setdefault(name, []).append(ms)
    for name, times in steps.items():
        print(f"{name:10s} median {statistics.median(times):.3f} ms  best {min(times):.3f} ms")


if __name__ == "__main__":
    main()
