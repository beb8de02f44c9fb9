#!/usr/bin/env bash
# Compiles the Swift module TokenBroker and the Swift tests inside the trixie chroot (made by
# swift-root.sh), then runs the tests there against the test servers started on the host.
#   run-swift-tests.sh SWIFT_OUT TESTS_DIR     (TB_TEST_PROVIDER, TB_TEST_ISSUER set by up.mjs)
# SWIFT_OUT holds TokenBroker.swift, TokenBrokerFFI.{h,modulemap}, libtokenbroker_uniffi.so.
set -euo pipefail

out="$(realpath "$1")"
tests="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${TB_SWIFT_ROOT:?}"
: "${TB_TEST_PROVIDER:?}" "${TB_TEST_ISSUER:?}"

"$here/scripts/swift-root.sh" "$root"

# One run at a time per root: runs share the work dir and the /proc mount.
exec 8>"$root/.tb-lock"
flock 8

mounted=0
cleanup() {
  if [ "$mounted" = 1 ]; then
    umount "$root/proc" 2>/dev/null || umount -l "$root/proc" || true
  fi
}
trap cleanup EXIT
if ! mountpoint -q "$root/proc"; then
  mount -t proc proc "$root/proc"   # swiftc dies with "Illegal instruction" without /proc
  mounted=1
fi

# The module is rebuilt only when its sources changed (not for a relinked Rust library, whose
# interface is in the header); the tests every time.
work="$root/tb-work"
mkdir -p "$work/module" "$work/tests"
changed=0
for f in TokenBroker.swift TokenBrokerFFI.h TokenBrokerFFI.modulemap; do
  if ! cmp -s "$out/$f" "$work/module/$f"; then cp "$out/$f" "$work/module/$f"; changed=1; fi
done
cmp -s "$out/libtokenbroker_uniffi.so" "$work/module/libtokenbroker_uniffi.so" ||
  cp "$out/libtokenbroker_uniffi.so" "$work/module/"
[ -f "$work/module/libTokenBroker.so" ] || changed=1
rm -rf "$work/tests" && mkdir -p "$work/tests" && cp "$tests"/*.swift "$work/tests/"
# The leak matrix's case list and the test key pair (the chroot cannot see the host's /tmp).
rm -rf "$work/leak" && mkdir -p "$work/leak" && cp "$here/../../tests/leak/cases.json" "$work/leak/"
if [ -n "${TB_TEST_KEYS:-}" ]; then cp "$TB_TEST_KEYS/client-key.pem" "$work/leak/"; fi
# The operation list, the conformance scenarios and the key pair they name (${KEYS}).
rm -rf "$work/data" && mkdir -p "$work/data"
cp "$here/../../api/operations.json" "$here/../../tests/scenarios.json" "$work/data/"
cp "${TB_TEST_KEYS:?}/client-key.pem" "$TB_TEST_KEYS/client-cert.pem" "$work/data/"

# drive_login.mjs needs node, which the chroot lacks: driver.mjs runs it on the host for the
# tests. Its stdin is fd 9, so it exits when this script does.
driver_out="$(mktemp)"
exec 9> >(exec node "$here/tests/driver.mjs" >"$driver_out")
for _ in $(seq 100); do [ -s "$driver_out" ] && break; sleep 0.1; done
driver_url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$driver_out")"
rm -f "$driver_out"
[ -n "$driver_url" ] || { echo "driver.mjs did not start" >&2; exit 1; }

chroot "$root" /usr/bin/env -i \
  PATH=/usr/libexec/swift/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  TB_TEST_PROVIDER="$TB_TEST_PROVIDER" TB_TEST_ISSUER="$TB_TEST_ISSUER" TB_DRIVER="$driver_url" \
  TB_LEAK_DIR=/tb-work/leak TB_DATA_DIR=/tb-work/data TB_SWIFT_SOURCE=/tb-work/module/TokenBroker.swift \
  TOKENBROKER_CACHE_KEY=WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo= \
  CHANGED="$changed" \
  /bin/bash -euo pipefail -c '
    cd /tb-work/module
    if [ "$CHANGED" = 1 ]; then
      echo "swiftc TokenBroker module"
      swiftc -emit-library -emit-module -module-name TokenBroker -parse-as-library \
        -I . -L . -ltokenbroker_uniffi -Xcc -fmodule-map-file=/tb-work/module/TokenBrokerFFI.modulemap \
        -Xlinker -rpath -Xlinker /tb-work/module \
        TokenBroker.swift -o libTokenBroker.so
    fi
    cd /tb-work/tests
    echo "swiftc tests"
    swiftc -I /tb-work/module -L /tb-work/module -lTokenBroker -ltokenbroker_uniffi \
      -Xcc -fmodule-map-file=/tb-work/module/TokenBrokerFFI.modulemap \
      -Xlinker -rpath -Xlinker /tb-work/module \
      *.swift -o binding-tests
    ./binding-tests
  '
