#!/usr/bin/env bash
# Cold-start benchmark (docs/benchmarks.md, "Cold start: a new process and a new client").
#   bench/cold/run.sh          # or: make bench-cold
# Builds the release CLI, Python extension (python/.venv) and Node addon, installs the peers
# into bench/cold-local/ (gitignored), starts the test provider, runs bench/cold/cold.py and
# stops the provider. BENCH_COLD_RUNS (default 30) sets the runs per figure;
# BENCH_COLD_NO_BUILD=1 skips the three builds; BENCH_COLD_GROUPS picks figures (default
# cli,python,node,python_split,node_split,python_big_cache,python_first,node_first).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/bench/cold"
LOCAL="$ROOT/bench/cold-local"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$LOCAL/python" "$LOCAL/node"

# hyperfine times docs/benchmarks.md's loader A/B; keytar (a dependency of @azure/msal-node-extensions)
# builds from source here, which needs libsecret's headers.
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v curl >/dev/null || need+=(curl)
pkg-config --exists libsecret-1 2>/dev/null || need+=(libsecret-1-dev pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${BENCH_COLD_NO_BUILD:-}" ]; then
  echo "== release builds: CLI, Python extension, Node addon"
  cargo build -q --release -p tokenbroker-cli
  MATURIN_RELEASE=1 TB_BUILD_ONLY=1 "$ROOT/python/test.sh"
  (cd "$ROOT/node" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } \
    && npm run -s build:release)
fi

# The package's bytecode, as `pip install` writes it (the timed runs set
# PYTHONDONTWRITEBYTECODE, and python/src is an editable install without it until a test run).
"$ROOT/python/.venv/bin/python" -m compileall -q "$ROOT/python/src/tokenbroker"

if ! cmp -s "$HERE/requirements.txt" "$LOCAL/python/.requirements.txt"; then
  echo "== pip install --target bench/cold-local/python (msal, msal-extensions, Authlib, requests)"
  "$ROOT/python/.venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade \
    --target "$LOCAL/python" -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$LOCAL/python/.requirements.txt"
fi
if ! cmp -s "$HERE/package-lock.json" "$LOCAL/node/package-lock.json"; then
  echo "== npm ci in bench/cold-local/node (msal-node, msal-node-extensions, openid-client)"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$LOCAL/node/"
  (cd "$LOCAL/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
# tokenbroker is required by name from there too, as an application does (the peers are):
# Node's resolver finds it in node_modules, as after `npm install`.
ln -sfn "$ROOT/node" "$LOCAL/node/node_modules/tokenbroker"

# The test provider, stopped on exit (it also exits when its stdin closes).
coproc PROVIDER { exec node "$ROOT/tests/provider/server.mjs" --exit-on-stdin-close; }
PROVIDER_PID=$PROVIDER_PID
trap 'kill "$PROVIDER_PID" 2>/dev/null || true' EXIT
read -r line <&"${PROVIDER[0]}"
url="$(sed -E 's/.*"url":"([^"]+)".*/\1/' <<<"$line")"
echo "== test provider at $url"

TB_TEST_PROVIDER="$url" TB_BIN="$CARGO_TARGET_DIR/release/tokenbroker" \
  TB_PY="$ROOT/python/.venv/bin/python" BENCH_COLD_LOCAL="$LOCAL" \
  python3 "$HERE/cold.py"
