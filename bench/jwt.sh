#!/usr/bin/env bash
# JWT access tokens against opaque ones, on loopback with the server in release mode (SQLite):
# issuance by client_credentials, then a REST request (GET /api/v1/me) carrying each kind of
# token. The two kinds alternate, round after round, so a noisy machine slows both alike; the
# median of each kind and their ratio are printed.
# Usage: bench/jwt.sh [rounds] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
seconds="${2:-5}"
connections="${3:-32}"
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 2; }
cargo build --release -q -p gatekey-cli
bin=target/release/gatekey
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
db="sqlite://$work/gatekey.db"
url=http://127.0.0.1:18181

GATEKEY_RATE_LIMIT__PER_SECOND=0 GATEKEY_RATE_LIMIT__PER_MINUTE=0 GATEKEY_LOG=warn \
  "$bin" serve --listen 127.0.0.1:18181 --database-url "$db" >>"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "$url/healthz" && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
sa="$("$bin" admin service-account create --database-url "$db" --account default --name bench --role admin --json | json '["id"]')"
app() { # format: a client_credentials application of that access token format
  "$bin" admin app create --database-url "$db" --account default --name "bench-$1" --type confidential \
    --grant-type client_credentials --service-account "$sa" --access-token-format "$1" --json
}
basic() { printf '%s:%s' "$1" "$2" | base64 -w0; }
for format in opaque jwt; do
  created="$(app "$format")"
  id="$(echo "$created" | json '["client_id"]')"; secret="$(echo "$created" | json '["client_secret"]')"
  cat >"$work/issue-$format.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(basic "$id" "$secret")"
LUA
  token="$(curl -fs -u "$id:$secret" -d grant_type=client_credentials -d scope=read "$url/oauth/token" | json '["access_token"]')"
  printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$token" >"$work/me-$format.lua"
  curl -fs -o /dev/null -H "Authorization: Bearer $token" "$url/api/v1/me"
done

rate() { # script path: requests per second of one run
  wrk -t2 -c"$connections" -d"${seconds}s" -s "$1" "$url$2" |
    python3 -c "import re,sys; t=sys.stdin.read(); assert 'Non-2xx' not in t, t; print(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))"
}
for kind in issue me; do
  path=/oauth/token; [ "$kind" = me ] && path=/api/v1/me
  rate "$work/$kind-opaque.lua" "$path" >/dev/null  # warm up
  : >"$work/$kind.rates"
  for _ in $(seq "$rounds"); do
    echo "opaque $(rate "$work/$kind-opaque.lua" "$path")" >>"$work/$kind.rates"
    echo "jwt $(rate "$work/$kind-jwt.lua" "$path")" >>"$work/$kind.rates"
  done
  python3 - "$kind" "$work/$kind.rates" <<'PY'
import statistics, sys
kind, path = sys.argv[1], sys.argv[2]
rates = {"opaque": [], "jwt": []}
for line in open(path):
    name, value = line.split()
    rates[name].append(float(value))
opaque, jwt = statistics.median(rates["opaque"]), statistics.median(rates["jwt"])
label = {"issue": "client_credentials issuance", "me": "GET /api/v1/me"}[kind]
print(f"{label}: opaque {opaque:.0f} req/s, jwt {jwt:.0f} req/s (medians of {len(rates['jwt'])}), jwt/opaque {jwt / opaque:.2f}")
PY
done
