#!/usr/bin/env bash
# Idempotent setup for the shared test servers: installs tests/oidc's npm dependencies
# (oidc-provider, pinned by package-lock.json) when node_modules is missing or stale.
# The provider server (tests/provider) has no dependencies.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
oidc="$here/../oidc"

if ! command -v node >/dev/null 2>&1; then
  echo "setup.sh: node is required (>= 20.19)" >&2
  exit 1
fi
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) { console.error(`setup.sh: node ${process.versions.node} is too old, need >= 20.19`); process.exit(1); }
'
if ! command -v openssl >/dev/null 2>&1; then
  echo "setup.sh: openssl is required (tests/oidc/server.mjs makes the oidc-jwt certificate with it)" >&2
  exit 1
fi

cd "$oidc"
stamp="node_modules/.tb-lock-stamp"
if [ -d node_modules/oidc-provider ] && [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
