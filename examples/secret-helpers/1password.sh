#!/bin/sh
# tokenbroker secret helper: 1Password through the op CLI (signed in, or a service account
# token in OP_SERVICE_ACCOUNT_TOKEN). Needs op and jq. One Password item per name, titled
# "tokenbroker <name>", in the vault TB_OP_VAULT:
#   [secrets]
#   command = ["/path/to/1password.sh"]
# Values travel through pipes only: items are created from a JSON template on stdin.
set -eu
op_=${1:?usage: 1password.sh get|store|erase}
vault=${TB_OP_VAULT:?set TB_OP_VAULT to the vault name}
input=$(cat)
name=$(printf %s "$input" | jq -er .name)
title="tokenbroker $name"
case "$op_" in
get)
  if value=$(op item get "$title" --vault "$vault" --fields label=password --reveal 2>/dev/null); then
    printf %s "$value" | jq -Rs '{secret: .}'
  else
    echo '{}'
  fi ;;
store)
  op item delete "$title" --vault "$vault" >/dev/null 2>&1 || true
  printf %s "$input" |
    jq --arg title "$title" '{title: $title, category: "PASSWORD",
      fields: [{id: "password", type: "CONCEALED", purpose: "PASSWORD", label: "password", value: .secret}]}' |
    op item create --vault "$vault" - >/dev/null ;;
erase)
  op item delete "$title" --vault "$vault" >/dev/null 2>&1 || true ;;
*)
  echo "1password.sh: unknown operation '$op_'" >&2
  exit 2 ;;
esac
