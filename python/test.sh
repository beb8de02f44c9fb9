#!/usr/bin/env bash
# Builds the extension into python/.venv and runs ruff, mypy --strict and pytest.
# Needs only python3 (>= 3.9), cargo and node on PATH; installs everything else itself.
#   ./test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd .. && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PYTHON="${PYTHON:-python3}"
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
echo "== installing build and test dependencies"
"$PY" -m pip install -q --disable-pip-version-check --upgrade pip
"$PY" -m pip install -q --disable-pip-version-check \
  "maturin>=1.16,<2" pytest requests httpx mypy types-requests ruff

if [ ! -d "$ROOT/tests/oidc/node_modules" ] && [ -z "${TB_TEST_ISSUER:-}" ]; then
  echo "== npm ci in tests/oidc"
  (cd "$ROOT/tests/oidc" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== building the extension (maturin develop${MATURIN_RELEASE:+ --release})"
"$VENV/bin/maturin" develop -q ${MATURIN_RELEASE:+--release}

if [ -n "${TB_BUILD_ONLY:-}" ]; then exit 0; fi

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

echo "== mypy --strict"
"$VENV/bin/mypy" --strict examples/typed_usage.py src/tokenbroker tests

echo "== pytest"
"$PY" -m pytest -q "$@"
