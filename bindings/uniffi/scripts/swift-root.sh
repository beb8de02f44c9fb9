#!/usr/bin/env bash
# Makes, once, a Debian trixie chroot holding Swift 6 (`swiftlang`), for compiling and running the
# Swift bindings on a Debian bookworm host (no Swift toolchain there). Reused between runs: a stamp
# file marks each finished stage. Needs root. Root dir: $TB_SWIFT_ROOT or the first argument.
set -euo pipefail

ROOT="${1:-${TB_SWIFT_ROOT:?set TB_SWIFT_ROOT or pass the root dir}}"
say() { echo "swift-root: $*" >&2; }

# swiftlang, libc headers (gcc only recommends them), libcurl for FoundationNetworking.
PACKAGES="swiftlang libc6-dev libcurl4 ca-certificates"

if [ "$(cat "$ROOT/.tb-swift-ready" 2>/dev/null)" = "$PACKAGES" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "must run as root (debootstrap, chroot, mount)"
  exit 1
fi

# Never delete anything under a live mount.
unmount_all() {
  local m
  for m in proc sys dev; do
    if mountpoint -q "$ROOT/$m" 2>/dev/null; then umount -l "$ROOT/$m" || true; fi
  done
}

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

if [ ! -f "$ROOT/.tb-base-ready" ]; then
  if [ -e "$ROOT" ]; then
    say "removing an unfinished root at $ROOT"
    unmount_all
    if grep -q " $(realpath "$ROOT")/" /proc/mounts; then
      say "something is still mounted under $ROOT; unmount it first"
      exit 1
    fi
    rm -rf --one-file-system "$ROOT"
  fi
  mkdir -p "$(dirname "$ROOT")"
  say "debootstrap trixie into $ROOT (about a minute)"
  debootstrap --variant=minbase trixie "$ROOT" >"$ROOT.debootstrap.log" 2>&1 || {
    tail -20 "$ROOT.debootstrap.log" >&2
    exit 1
  }
  rm -f "$ROOT.debootstrap.log"
  touch "$ROOT/.tb-base-ready"
fi

# The toolchain and its downloads take about 5 GB; say so plainly rather than let apt fail.
free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 { print $4 }')
if [ "${free_kb:-0}" -lt $((5 * 1024 * 1024)) ]; then
  say "needs about 5 GB free under $ROOT for $PACKAGES; $((free_kb / 1024)) MB left"
  exit 1
fi
say "installing $PACKAGES in the chroot (about a minute)"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null && apt-get clean"
echo "$PACKAGES" >"$ROOT/.tb-swift-ready"
say "ready"
