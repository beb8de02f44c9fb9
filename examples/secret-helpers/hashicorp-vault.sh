#!/bin/sh
# tokenbroker secret helper: HashiCorp Vault's KV v2 engine through the vault CLI (VAULT_ADDR
# and a token as usual). Needs vault and jq. Secrets go to <mount>/tokenbroker/<name>, field
# "secret"; the mount comes from TB_VAULT_MOUNT (default "secret"):
#   [secrets]
#   command = ["/path/to/hashicorp-vault.sh"]
# Values travel through pipes only (`secret=-` reads stdin).
set -eu
op=${1:?usage: hashicorp-vault.sh get|store|erase}
mount=${TB_VAULT_MOUNT:-secret}
input=$(cat)
name=$(printf %s "$input" | jq -er .name)
path="tokenbroker/$name"
case "$op" in
get)
  # `vault kv get` exits 2 when there is no such secret, 1 on other errors.
  status=0
  value=$(vault kv get -mount="$mount" -field=secret "$path" 2>/dev/null) || status=$?
  case $status in
  0) printf %s "$value" | jq -Rs '{secret: .}' ;;
  2) echo '{}' ;;
  *) exit 1 ;;
  esac ;;
store)
  printf %s "$input" | jq -j .secret | vault kv put -mount="$mount" "$path" secret=- >/dev/null ;;
erase)
  vault kv metadata delete -mount="$mount" "$path" >/dev/null ;;
*)
  echo "hashicorp-vault.sh: unknown operation '$op'" >&2
  exit 2 ;;
esac
