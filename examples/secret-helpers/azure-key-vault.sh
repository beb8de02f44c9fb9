#!/bin/sh
# tokenbroker secret helper: Azure Key Vault through the Azure CLI (`az login` first, or a
# managed identity). Needs az and jq. The vault comes from TB_KEYVAULT:
#   [secrets]
#   command = ["/path/to/azure-key-vault.sh"]
# Key Vault names allow letters, digits and '-': a name maps to "tb-" plus the name with every
# other character replaced by '-'. Values travel through pipes only (`--file /dev/stdin`).
# Key Vault soft-deletes: `erase` also purges, which needs the purge permission.
set -eu
op=${1:?usage: azure-key-vault.sh get|store|erase}
vault=${TB_KEYVAULT:?set TB_KEYVAULT to the vault name}
input=$(cat)
name=$(printf %s "$input" | jq -er .name)
kv="tb-$(printf %s "$name" | tr -c 'A-Za-z0-9-' '-')"
case "$op" in
get)
  if value=$(az keyvault secret show --vault-name "$vault" --name "$kv" --query value -o tsv 2>"${TMPDIR:-/tmp}/tb-kv.$$"); then
    rm -f "${TMPDIR:-/tmp}/tb-kv.$$"
    printf %s "$value" | jq -Rs '{secret: .}'
  elif grep -q SecretNotFound "${TMPDIR:-/tmp}/tb-kv.$$"; then
    rm -f "${TMPDIR:-/tmp}/tb-kv.$$"
    echo '{}'
  else
    rm -f "${TMPDIR:-/tmp}/tb-kv.$$"
    exit 1
  fi ;;
store)
  printf %s "$input" | jq -j .secret |
    az keyvault secret set --vault-name "$vault" --name "$kv" --file /dev/stdin --encoding utf-8 -o none ;;
erase)
  az keyvault secret delete --vault-name "$vault" --name "$kv" -o none 2>/dev/null || true
  az keyvault secret purge --vault-name "$vault" --name "$kv" -o none 2>/dev/null || true ;;
*)
  echo "azure-key-vault.sh: unknown operation '$op'" >&2
  exit 2 ;;
esac
