#!/usr/bin/env bash
# `make demo`: the main job against an embedded default. Starts the project's test provider
# and oidc-provider on 127.0.0.1, writes a config with one profile per seed provider, and
# gets a token for each through the `tokenbroker` CLI — twice, to show the shared cache.
# Tokens are never printed: only their type, lifetime and scopes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tb="${CARGO_TARGET_DIR:-$root/target}/debug/tokenbroker"
work=$(mktemp -d)
chmod 700 "$work"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

node "$root/tests/harness/up.mjs" "$work/servers.json" </dev/null >/dev/null &
for _ in $(seq 100); do [ -s "$work/servers.json" ] && break; sleep 0.1; done
provider=$(node -p "require('$work/servers.json').provider")
issuer=$(node -p "require('$work/servers.json').issuer")
echo "test provider: $provider    oidc-provider: $issuer"

export TOKENBROKER_CACHE_KEY=$(head -c 32 /dev/urandom | base64)
cat > "$work/config.toml" <<TOML
[cache]
store = "file"
path = "$work/cache"

[profiles.alliance]
provider = "alliance"
client_id = "aos-client"
client_secret = "aos-secret"
scopes = ["User.Read.All", "Orders.Read"]
enrollment = "6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d"
token_url = "$provider/API/v2/OAuth/token"

[profiles.alvaria]
provider = "alvaria"
region = "eu"
client_id = "alvaria-client"
client_secret = "alvaria-secret"
scopes = ["myaccount.clients.list"]
token_url = "$provider/tokenservice/oauth2/access_token"

[profiles.alvys]
provider = "alvys"
tenant = "demo-tenant"
client_id = "alvys-client"
client_secret = "alvys-secret"
token_url = "$provider/api/authentication/demo-tenant/token"

[profiles.partner-center]
provider = "azure-ad-v1"
tenant = "contoso"
resource = "https://api.partnercenter.microsoft.com"
client_id = "azure-client"
client_secret = "azure-secret"
token_url = "$provider/contoso/oauth2/token"
authorize_url = "$provider/contoso/oauth2/authorize"
jwks_url = "$provider/contoso/discovery/keys"
issuer = "$provider/contoso/"

[profiles.oidc]
provider = "oidc"
issuer = "$issuer"
client_id = "oidc-basic"
client_secret = "oidc-basic-secret"
scopes = ["api:read"]
TOML
chmod 600 "$work/config.toml"
export TOKENBROKER_CONFIG="$work/config.toml"

summary() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=JSON.parse(s);
    console.log(`${t.token_type} token [hidden], expires in ${t.expires_in}s, scopes ${JSON.stringify(t.scopes)}`)})'
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

echo
echo "partner-center (azure-ad-v1) signs in once: authorization code, form_post, PKCE"
"$tb" login -p partner-center --no-browser --timeout 30 2> "$work/login.err" &
login=$!
for _ in $(seq 100); do grep -q "http" "$work/login.err" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http[^ ]*authorize[^ ]*' "$work/login.err" | head -1)
node "$root/tests/oidc/drive_login.mjs" "$url" --follow >/dev/null
wait $login
echo "  signed in; the refresh token is stored encrypted in the cache dir"
echo
for profile in alliance alvaria alvys partner-center oidc; do
  start=$(date +%s%N); "$tb" token -p "$profile" -f json > "$work/t.json"; first=$(ms_since "$start")
  start=$(date +%s%N); "$tb" token -p "$profile" -f json > /dev/null; second=$(ms_since "$start")
  printf '%-15s %s\n' "$profile" "$(summary < "$work/t.json")"
  printf '%-15s first call %4s ms, second call (a new process, from the shared cache) %4s ms\n' "" "$first" "$second"
done
echo
requests=$(curl -s "$provider/_admin/stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).requests;console.log(Object.entries(r).map(([k,v])=>k+"="+v).join(", "))})')
echo "requests the test provider saw: $requests"
"$tb" cache list
