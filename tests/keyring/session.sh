#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (the Linux
# Secret Service), a throwaway HOME and throwaway XDG dirs. Everything the command starts sees
# the keyring through DBUS_SESSION_BUS_ADDRESS; outside this script there is none.
#
#   tests/keyring/session.sh cargo test -p tokenbroker --test keyring
#
# Keyring tests check TB_KEYRING_HARNESS=1 (set here) and fail when it is missing, unless
# TB_SKIP_KEYRING_TESTS=1 says to skip them. Packages: gnome-keyring dbus libsecret-tools dbus-x11.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
  if ! command -v "$tool" >/dev/null; then
    echo "$0: '$tool' is missing; run 'make setup' (apt: gnome-keyring dbus libsecret-tools dbus-x11)" >&2
    exit 2
  fi
done

# cargo and rustup live under the real HOME; keep them when HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
scratch=$(mktemp -d -t tb-keyring.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/run" && chmod 700 "$scratch/run"
export HOME="$scratch" XDG_CONFIG_HOME="$scratch/.config" XDG_CACHE_HOME="$scratch/.cache" \
  XDG_DATA_HOME="$scratch/.local/share" XDG_RUNTIME_DIR="$scratch/run" TB_KEYRING_HARNESS=1
unset TOKENBROKER_CACHE_KEY TOKENBROKER_CACHE_DIR TOKENBROKER_CONFIG TB_SKIP_KEYRING_TESTS

# dbus-daemon's "Failed to set fd limit" notice is harmless and filtered out.
dbus-run-session -- bash -c '
  set -euo pipefail
  eval "$(printf %s throwaway-keyring-password | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  # Wait until the Secret Service answers (the daemon registers on the bus asynchronously).
  for _ in $(seq 50); do
    if printf %s probe | secret-tool store --label=probe tokenbroker-harness probe 2>/dev/null; then
      secret-tool clear tokenbroker-harness probe
      exec "$@"
    fi
    sleep 0.1
  done
  echo "tests/keyring/session.sh: the Secret Service did not come up" >&2
  exit 1
' keyring-session "$@" 2> >(grep -v "Failed to set fd limit" >&2)
