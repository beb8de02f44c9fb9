#!/bin/sh
# tokenbroker secret helper: the Linux Secret Service (GNOME Keyring, KeePassXC, KWallet)
# through libsecret's secret-tool. Needs secret-tool and jq.
#   [secrets]
#   command = ["/path/to/secret-tool.sh"]
# Values travel through pipes only, never on a command line.
set -eu
op=${1:?usage: secret-tool.sh get|store|erase}
input=$(cat)
name=$(printf %s "$input" | jq -er .name)
case "$op" in
get)
  # secret-tool exits 1 both for "no such item" and for errors; either reads as absent.
  if value=$(secret-tool lookup service tokenbroker-secret name "$name" 2>/dev/null); then
    printf %s "$value" | jq -Rs '{secret: .}'
  else
    echo '{}'
  fi ;;
store)
  printf %s "$input" | jq -j .secret |
    secret-tool store --label="tokenbroker $name" service tokenbroker-secret name "$name" ;;
erase)
  secret-tool clear service tokenbroker-secret name "$name" 2>/dev/null || true ;;
*)
  echo "secret-tool.sh: unknown operation '$op'" >&2
  exit 2 ;;
esac
